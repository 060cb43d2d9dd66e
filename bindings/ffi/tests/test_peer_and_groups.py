"""The per-message fast path (`Peer`) and the group calls beyond the
basic scenario: a change of several operations, forgetting a group, and
at-least-once delivery of group messages."""

import pytest

import kinseal
from conftest import NOW


def two_in_memory():
    directory = kinseal.Directory.open_in_memory()
    alice = kinseal.Account.create_in_memory(
        kinseal.DeviceAddress(app_id=b"chirp", user_id=b"alice", device_id=1), NOW
    )
    bob = kinseal.Account.create_in_memory(
        kinseal.DeviceAddress(app_id=b"parley", user_id=b"bob", device_id=1), NOW
    )
    for a in (alice, bob):
        me = a.address()
        directory.register(me, a.identity_key())
        directory.upload(me, a.refresh_prekeys(NOW, None))
    alice.update_device_lists([bob.device_list().bytes], NOW)
    bob.update_device_lists([alice.device_list().bytes], NOW)
    alice.start_session(bob.address(), directory.take_bundle(bob.address()), NOW)
    return alice, bob


def test_a_peer_is_the_account_with_the_address_checked_once():
    alice, bob = two_in_memory()
    to_bob, to_alice = alice.peer(bob.address()), bob.peer(alice.address())
    assert to_bob.address() == bob.address()
    first = to_bob.encrypt(b"hello", NOW)
    got = to_alice.decrypt(first, NOW)
    assert got.plaintext == b"hello" and got.sender == alice.address()
    assert got.new_session and isinstance(got.identity, kinseal.IdentityStatus.NEW)
    # The account's own calls and the peer's share the session.
    reply = bob.encrypt(alice.address(), b"hi", NOW)
    assert to_bob.decrypt(reply, NOW).plaintext == b"hi"
    again = to_bob.encrypt(b"same chain", NOW)
    assert bob.decrypt(alice.address(), again, NOW).plaintext == b"same chain"
    # Errors are the account's: a replay, a tampered message.
    with pytest.raises(kinseal.KinsealError.Protocol):
        to_alice.decrypt(again, NOW)
    forged = bytearray(to_bob.encrypt(b"x", NOW))
    forged[-1] ^= 1
    with pytest.raises(kinseal.KinsealError.DecryptionFailed):
        to_alice.decrypt(bytes(forged), NOW)
    # The peer keeps its account alive after the app drops it.
    del alice
    assert to_alice.decrypt(to_bob.encrypt(b"still here", NOW), NOW).plaintext == b"still here"


def test_a_peer_needs_a_valid_address():
    alice, _ = two_in_memory()
    with pytest.raises(kinseal.KinsealError.Address):
        alice.peer(kinseal.DeviceAddress(app_id=b"", user_id=b"x", device_id=1))


def test_peer_decrypt_with_stores_only_what_the_app_kept():
    alice, bob = two_in_memory()
    to_alice = bob.peer(alice.address())
    message = alice.encrypt(bob.address(), b"keep me", NOW)

    class Refuse(kinseal.Delivery):
        def deliver(self, message):
            raise kinseal.KinsealError.Callback("disk full")

    kept = []

    class Keep(kinseal.Delivery):
        def deliver(self, message):
            kept.append(message.plaintext)

    with pytest.raises(kinseal.KinsealError.Callback):
        to_alice.decrypt_with(message, NOW, Refuse())
    assert not bob.has_session(alice.address())
    assert to_alice.decrypt_with(message, NOW, Keep()).plaintext == b"keep me"
    assert kept == [b"keep me"]


def group_of_three(server):
    alice = server.install("alice", "chirp", "alice")
    bob = server.install("bob", "parley", "bob")
    carol = server.install("carol", "murmur", "carol")
    for other in (bob, carol):
        alice.meet(other.user)
    created = alice.account.create_group([bob.user, carol.user], NOW)
    for e in created.fan_out.envelopes:
        server.mail(e)
    for member in (bob, carol):
        for envelope in server.take_mail(member.address):
            member.read(envelope)
    return created.group, alice, bob, carol


def deliver_all(server, devices):
    events = {}
    for d in devices:
        events[d.address.user_id] = [
            d.read(e).group_event for e in server.take_mail(d.address)
        ]
    return events


def test_change_group_applies_every_operation_in_one_epoch(server):
    group, alice, bob, carol = group_of_three(server)
    bob_key = bob.account.user_identity_key()
    carol_key = carol.account.user_identity_key()
    fan = alice.account.change_group(
        group,
        [
            kinseal.GroupOp.SET_ROLE(user_key=bob_key, admin=True),
            kinseal.GroupOp.REMOVE(user_key=carol_key),
        ],
        NOW,
    )
    for e in fan.envelopes:
        server.mail(e)
    events = deliver_all(server, [bob, carol])
    (changed,) = events[b"bob"]
    assert isinstance(changed, kinseal.GroupEvent.CHANGED)
    assert changed.epoch == 1 and changed.removed == [carol.user]
    state = bob.account.group_state(group)
    assert state.epoch == 1
    assert {m.user.user_id: m.admin for m in state.members} == {b"alice": True, b"bob": True}
    # Bob is an admin now: he may add Carol back.
    bob.meet(carol.user)
    fan = bob.account.change_group(
        group,
        [kinseal.GroupOp.ADD(user=carol.user, user_key=carol_key, admin=False)],
        NOW,
    )
    assert bob.account.group_state(group).epoch == 2
    assert len(fan.envelopes) > 0
    # A bad key is refused before anything is sent.
    with pytest.raises(kinseal.KinsealError.InvalidArgument):
        bob.account.change_group(group, [kinseal.GroupOp.REMOVE(user_key=b"short")], NOW)
    assert bob.account.group_state(group).epoch == 2


def test_forget_group_deletes_it(server):
    group, alice, bob, carol = group_of_three(server)
    fan = carol.account.leave_group(group, NOW)
    assert carol.account.forget_group(group)
    assert carol.account.group_state(group) is None
    assert carol.account.groups() == []
    assert not carol.account.forget_group(group)
    with pytest.raises(kinseal.KinsealError.InvalidArgument):
        carol.account.forget_group(b"not 32 bytes")
    assert len(fan.envelopes) > 0


def test_group_decrypt_with_is_at_least_once(server):
    group, alice, bob, carol = group_of_three(server)
    alice.meet(bob.user)
    sent = alice.account.group_send(group, b"dinner at 8", NOW)
    for e in sent.distributions.envelopes:
        server.mail(e)
    deliver_all(server, [bob, carol])

    class Refuse(kinseal.GroupDelivery):
        def deliver(self, message):
            raise kinseal.KinsealError.Callback("database locked")

    kept = []

    class Keep(kinseal.GroupDelivery):
        def deliver(self, message):
            kept.append((message.group, message.plaintext))

    with pytest.raises(kinseal.KinsealError.Callback):
        bob.account.group_decrypt_with(alice.address, sent.message, Refuse())
    # Nothing was committed: the same bytes decrypt again, once.
    got = bob.account.group_decrypt_with(alice.address, sent.message, Keep())
    assert got.plaintext == b"dinner at 8" and kept == [(group, b"dinner at 8")]
    with pytest.raises(kinseal.KinsealError.Group) as e:
        bob.account.group_decrypt_with(alice.address, sent.message, Keep())
    assert e.value.kind == "Duplicate" and len(kept) == 1
    # Through a peer, too.
    assert carol.account.peer(alice.address).group_decrypt(sent.message).plaintext == b"dinner at 8"
