"""The Python side of the binding-overhead measurement (see
examples/overhead.rs): encrypt and decrypt of 100 B between two in-memory
accounts through the installed `kinseal` package."""

import time

import kinseal

NOW = 1_767_225_600
N = int(__import__("os").environ.get("N", "20000"))


def address(user):
    return kinseal.DeviceAddress(app_id=b"chirp", user_id=user, device_id=1)


def online(directory, account):
    me = account.address()
    directory.register(me, account.identity_key())
    directory.upload(me, account.refresh_prekeys(NOW, None))
    user = kinseal.UserAddress(app_id=me.app_id, user_id=me.user_id)
    directory.publish_device_list(user, account.device_list().bytes)


directory = kinseal.Directory.open_in_memory()
alice = kinseal.Account.create_in_memory(address(b"alice"), NOW)
bob = kinseal.Account.create_in_memory(address(b"bob"), NOW)
online(directory, alice)
online(directory, bob)
alice.update_device_lists([bob.device_list().bytes], NOW)
bob.update_device_lists([alice.device_list().bytes], NOW)
alice.start_session(bob.address(), directory.take_bundle(bob.address()), NOW)
bob.decrypt(alice.address(), alice.encrypt(bob.address(), b"hi", NOW), NOW)
# Bob answers, so Alice's messages are same-chain ones, not PreKeyMessages.
alice.decrypt(bob.address(), bob.encrypt(alice.address(), b"hi", NOW), NOW)
text = bytes([7]) * 100
to_bob, to_alice = bob.address(), alice.address()



def timed(encrypt, decrypt, label):
    enc = dec = 0.0
    for _ in range(N):
        t = time.perf_counter()
        m = encrypt()
        enc += time.perf_counter() - t
        t = time.perf_counter()
        decrypt(m)
        dec += time.perf_counter() - t
    print(f"python {label}: encrypt {enc * 1e6 / N:.2f} us, decrypt {dec * 1e6 / N:.2f} us (100 B, {N} calls)")


# Through the account, with the address as a record on every call.
timed(lambda: alice.encrypt(to_bob, text, NOW), lambda m: bob.decrypt(to_alice, m, NOW), "account")
# Through `Peer` objects, made once.
alice_bob, bob_alice = alice.peer(to_bob), bob.peer(to_alice)
timed(lambda: alice_bob.encrypt(text, NOW), lambda m: bob_alice.decrypt(m, NOW), "peer")
# The floor of any call returning bytes through UniFFI's Python: a method
# whose Rust side does almost nothing (32 bytes copied).
t = time.perf_counter()
for _ in range(N):
    alice.identity_key()
print(f"python floor (identity_key): {(time.perf_counter() - t) * 1e6 / N:.2f} us ({N} calls)")
