"""One person's accounts in two apps (account links), and how an app sets
an account up: settings, its own trust policy, a new storage key, and the
upkeep calls."""

import os

import pytest

import kinseal
from conftest import NOW


def test_a_link_between_two_apps_of_one_person(server):
    alice_chirp = server.install("alice-chirp", "chirp", "alice")
    alice_parley = server.install("alice-parley", "parley", "alice.p")
    bob = server.install("bob", "murmur", "bob")
    # Bob has met both of Alice's accounts.
    bob.meet(alice_chirp.user)
    bob.meet(alice_parley.user)

    proposal = alice_chirp.account.propose_account_link(
        alice_parley.account.user_identity_key(), alice_parley.user, NOW
    )
    shown = kinseal.read_account_link_proposal(proposal)
    assert shown.proposer == kinseal.LinkedAccount(
        user=alice_chirp.user, user_key=alice_chirp.account.user_identity_key()
    )
    assert shown.countersigner.user == alice_parley.user and shown.created_at == NOW
    # Only the account it names countersigns it.
    with pytest.raises(kinseal.KinsealError.Account) as e:
        bob.account.countersign_account_link(proposal)
    assert e.value.kind == "IdentityMismatch"
    link = alice_parley.account.countersign_account_link(proposal)

    info = bob.account.check_account_link(link)
    assert {a.user.user_id for a in info.accounts} == {b"alice", b"alice.p"}
    assert len(info.hash) == 32 and info.created_at == NOW
    # Someone who met only one of the two accounts cannot vouch for it.
    carol = server.install("carol", "murmur", "carol")
    carol.meet(alice_chirp.user)
    with pytest.raises(kinseal.KinsealError):
        carol.account.check_account_link(link)

    revocation = alice_parley.account.revoke_account_link(link, NOW + 60)
    kinseal.check_link_revocation(revocation, link)
    # A revocation of one link says nothing of another.
    other = alice_chirp.account.countersign_account_link(
        alice_parley.account.propose_account_link(
            alice_chirp.account.user_identity_key(), alice_chirp.user, NOW + 1
        )
    )
    with pytest.raises(kinseal.KinsealError):
        kinseal.check_link_revocation(revocation, other)
    forged = bytearray(link)
    forged[-1] ^= 1
    with pytest.raises(kinseal.KinsealError):
        bob.account.check_account_link(bytes(forged))


def addr(app, user, device=1):
    return kinseal.DeviceAddress(app_id=app, user_id=user, device_id=device)


def test_settings_are_bounded_as_kinseal_bounds_them():
    with pytest.raises(kinseal.KinsealError.Misuse) as e:
        kinseal.Account.create_in_memory(
            addr(b"chirp", b"alice"), NOW, config=kinseal.AccountConfig(session_cache=10**9)
        )
    assert e.value.kind == "ConfigOutOfRange"
    with pytest.raises(kinseal.KinsealError.Misuse):
        kinseal.Account.create_in_memory(
            addr(b"chirp", b"alice"), NOW, config=kinseal.AccountConfig(pending_session_ttl=1)
        )
    # A prekey target that takes effect: a smaller upload.
    small = kinseal.Account.create_in_memory(
        addr(b"chirp", b"alice"), NOW, config=kinseal.AccountConfig(one_time_prekey_target=5)
    )
    default = kinseal.Account.create_in_memory(addr(b"chirp", b"bob"), NOW)
    directory = kinseal.Directory.open_in_memory()
    for a in (small, default):
        directory.register(a.address(), a.identity_key())
    assert directory.upload(small.address(), small.refresh_prekeys(NOW, None)).one_time == 5
    assert directory.upload(default.address(), default.refresh_prekeys(NOW, None)).one_time > 5


class Policy(kinseal.TrustPolicy):
    """Trusts the user keys it is told of, and records what it was asked."""

    def __init__(self, allowed, proof=None, raises=False):
        self.allowed = allowed
        self.asked = []
        self.raises = raises

    def trust_device(self, peer, known, presented):
        self.asked.append(("device", peer.user_id))
        return False

    def trust_user(self, user, known, presented, proof):
        self.asked.append(("user", user.user_id, proof))
        if self.raises:
            raise kinseal.KinsealError.Callback("log unreachable")
        return presented in self.allowed


def test_the_apps_trust_policy_decides(tmp_path):
    bob = kinseal.Account.create_in_memory(addr(b"parley", b"bob"), NOW)
    eve = kinseal.Account.create_in_memory(addr(b"parley", b"eve"), NOW)
    policy = Policy({bob.user_identity_key()})
    path = str(tmp_path / "alice.sqlite")
    key = os.urandom(32)
    alice = kinseal.Account.create(path, key, 1, addr(b"chirp", b"alice"), NOW, policy=policy)
    alice.update_device_lists_with_proof([bob.device_list().bytes], b"proof-1", NOW)
    assert ("user", b"bob", b"proof-1") in policy.asked
    with pytest.raises(kinseal.KinsealError.Trust):
        alice.update_device_lists([eve.device_list().bytes], NOW)
    assert alice.peer_user(kinseal.UserAddress(app_id=b"parley", user_id=b"eve")) is None
    # A policy that raises refuses.
    del alice
    raising = Policy({eve.user_identity_key()}, raises=True)
    alice = kinseal.Account.open(path, key, 1, policy=raising)
    with pytest.raises(kinseal.KinsealError.Trust):
        alice.update_device_lists([eve.device_list().bytes], NOW)
    # Without device lists, the device key goes to the policy.
    loose = kinseal.Account.create_in_memory(
        addr(b"chirp", b"dave"),
        NOW,
        config=kinseal.AccountConfig(device_lists_required=False),
        policy=policy,
    )
    directory = kinseal.Directory.open_in_memory()
    directory.register(eve.address(), eve.identity_key())
    directory.upload(eve.address(), eve.refresh_prekeys(NOW, None))
    with pytest.raises(kinseal.KinsealError.Trust):
        loose.start_session(eve.address(), directory.take_bundle(eve.address()), NOW)
    assert ("device", b"eve") in policy.asked


def test_a_new_storage_key(tmp_path):
    path = str(tmp_path / "alice.sqlite")
    old, new = os.urandom(32), os.urandom(32)
    alice = kinseal.Account.create(path, old, 1, addr(b"chirp", b"alice"), NOW)
    identity = alice.identity_key()
    del alice
    alice = kinseal.Account.open(
        path, new, 2, previous_keys=[kinseal.PreviousStorageKey(key_id=1, storage_key=old)]
    )
    assert alice.reseal_all() > 0
    assert alice.reseal_all() == 0
    del alice
    assert kinseal.Account.open(path, new, 2).identity_key() == identity
    with pytest.raises(kinseal.KinsealError.Storage):
        kinseal.Account.open(path, old, 1)


def test_devices_and_sessions_upkeep(server):
    alice = server.install("alice", "chirp", "alice")
    bob = server.install("bob", "parley", "bob")
    carol = server.install("carol", "murmur", "carol")
    alice.meet(bob.user)
    alice.meet(carol.user)
    assert alice.account.current_session_id(bob.address) is not None
    assert len(alice.account.current_session_id(bob.address)) == 32
    assert alice.account.current_session_id(addr(b"x", b"nobody")) is None

    to_each = alice.account.encrypt_to_each([bob.address, carol.address], b"to each", NOW)
    assert len(to_each) == 2
    bob.meet(alice.user)
    carol.meet(alice.user)
    assert bob.account.decrypt(alice.address, to_each[0], NOW).plaintext == b"to each"
    # One failure, and nothing is sent.
    with pytest.raises(kinseal.KinsealError.Account):
        alice.account.encrypt_to_each([carol.address, addr(b"x", b"nobody")], b"no", NOW)
    assert carol.account.decrypt(alice.address, to_each[1], NOW).plaintext == b"to each"

    assert alice.account.forget_device(bob.address)
    assert not alice.account.has_session(bob.address)
    assert not alice.account.forget_device(bob.address)
    assert alice.account.expire_sessions(NOW) == 0

    # A device added by hand (what linking does), with its key.
    tablet = kinseal.Account.create_in_memory(addr(b"chirp", b"alice", 3), NOW)
    listed = alice.account.add_device(3, tablet.identity_key(), NOW)
    assert listed.version == 2 and 3 in [d.address.device_id for d in listed.devices]
    with pytest.raises(kinseal.KinsealError):
        alice.account.add_device(3, tablet.identity_key(), NOW)
