"""Creating and dropping 10 000 objects through the bindings does not
grow the process: every Rust object the Python side drops is freed.

RSS is read from /proc/self/statm after a warm-up (so allocator pools and
caches are already at their working size). Each leak this guards against
would be far over the threshold: an account leaked per iteration holds
its keys, store and caches (kilobytes each, tens of MB over 10 000), and a
leaked 1 KiB plaintext or ciphertext per iteration is 10 MB or more. The
threshold is 4 MiB, several times the noise measured between runs.

Each check runs in a fresh interpreter: memory freed earlier in the same
process (by other tests) would otherwise absorb a leak without RSS
growing."""

import gc
import os
import subprocess
import sys

import kinseal
from conftest import NOW

N = 10_000
THRESHOLD = 4 * 1024 * 1024


def rss():
    gc.collect()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def grows(step, warmup=1_000):
    for i in range(warmup):
        step(i)
    before = rss()
    for i in range(N):
        step(i)
    return rss() - before


def address(user, device=1):
    return kinseal.DeviceAddress(app_id=b"chirp", user_id=user, device_id=device)


def accounts_and_link_requests():
    def step(i):
        account = kinseal.Account.create_in_memory(address(b"u%d" % i), NOW)
        account.device_list()
        account.user_safety_number(kinseal.UserAddress(app_id=b"x", user_id=b"y"))
        kinseal.LinkRequest().code()
        try:
            kinseal.decode_envelope(b"garbage")
        except kinseal.KinsealError.Decode:
            pass

    return grows(step)


def online(directory, account):
    me = account.address()
    directory.register(me, account.identity_key())
    directory.upload(me, account.refresh_prekeys(NOW, None))
    directory.publish_device_list(
        kinseal.UserAddress(app_id=me.app_id, user_id=me.user_id),
        account.device_list().bytes,
    )


def sessions_and_messages():
    # In memory: 40 000 SQLite commits would measure the disk, not leaks.
    directory = kinseal.Directory.open_in_memory()
    alice = kinseal.Account.create_in_memory(address(b"alice"), NOW)
    bob = kinseal.Account.create_in_memory(address(b"bob"), NOW)
    for account in (alice, bob):
        online(directory, account)
    for me, them in ((alice, bob), (bob, alice)):
        me.update_device_lists([them.device_list().bytes], NOW)
    alice.start_session(bob.address(), directory.take_bundle(bob.address()), NOW)
    first = alice.encrypt_envelope(bob.address(), b"hi", NOW)
    bob.decrypt_envelope(first.bytes, NOW)
    text = os.urandom(1024)

    def step(i):
        sent = alice.encrypt_envelope(bob.address(), text, NOW)
        got = bob.decrypt_envelope(sent.bytes, NOW)
        assert got.plaintext == text
        reply = bob.encrypt(alice.address(), text, NOW)
        assert alice.decrypt(bob.address(), reply, NOW).plaintext == text
        # `Peer` handles, made and dropped every time.
        to_bob, to_alice = alice.peer(bob.address()), bob.peer(alice.address())
        assert to_alice.decrypt(to_bob.encrypt(text, NOW), NOW).plaintext == text

    return grows(step, warmup=500)


def growth_in_fresh_process(check):
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), check],
        cwd=here, capture_output=True, text=True, check=True,
    )
    return int(out.stdout.split()[-1])


def test_accounts_and_link_requests_are_freed():
    growth = growth_in_fresh_process("accounts_and_link_requests")
    assert growth < THRESHOLD, f"RSS grew by {growth} bytes over {N} accounts"


def test_sessions_and_messages_are_freed():
    growth = growth_in_fresh_process("sessions_and_messages")
    assert growth < THRESHOLD, f"RSS grew by {growth} bytes over {N} messages"


if __name__ == "__main__":
    print(globals()[sys.argv[1]]())
