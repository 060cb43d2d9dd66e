"""The scenario of issue 16 through the Python bindings: three apps,
people with several devices, a group, a restart from the SQLite files and
an identity change."""

import kinseal
from conftest import NOW, Bundles, Lists, user_of


def test_three_apps_talk_across_devices(server):
    alice_phone = server.install("alice-phone", "chirp", "alice")
    alice_laptop = server.link(alice_phone, "alice-laptop", 2)
    bob = server.install("bob", "parley", "bob")
    carol = server.install("carol", "murmur", "carol")
    assert alice_laptop.account.user_identity_key() == alice_phone.account.user_identity_key()
    assert alice_phone.account.device_list().version == 2

    sent = bob.send(alice_phone.user, "hello Alice")
    assert len(sent.envelopes) == 2
    assert alice_phone.read_all() == ["hello Alice"]
    assert alice_laptop.read_all() == ["hello Alice"]

    # A reply reaches Bob and Alice's other device.
    alice_phone.send(bob.user, "hi Bob, from my phone")
    assert bob.read_all() == ["hi Bob, from my phone"]
    assert alice_laptop.read_all() == ["hi Bob, from my phone"]

    # One message to two people in two other apps.
    alice_laptop.meet(bob.user)
    alice_laptop.meet(carol.user)
    fan = alice_laptop.account.encrypt_to_users([bob.user, carol.user], b"dinner?", NOW)
    assert len(fan.envelopes) == 3  # Bob, Carol and Alice's phone
    for e in fan.envelopes:
        server.mail(e)
    assert bob.read_all() == ["dinner?"]
    assert carol.read_all() == ["dinner?"]
    assert alice_phone.read_all() == ["dinner?"]

    # Pairwise, without envelopes: the app carries the sender itself.
    carol.meet(bob.user)
    message = carol.account.encrypt(bob.address, b"direct", NOW)
    assert kinseal.route(message).kind in (
        kinseal.MessageKind.PRE_KEY_MESSAGE,
        kinseal.MessageKind.MESSAGE,
    )
    bob.meet(carol.user)
    got = bob.account.decrypt(carol.address, message, NOW)
    assert got.plaintext == b"direct" and got.sender == carol.address

    # The same safety number on both of Alice's devices and at Bob's.
    at_bob = bob.account.user_safety_number(alice_phone.user)
    for device in (alice_phone, alice_laptop):
        at_alice = device.account.user_safety_number(bob.user)
        assert at_alice.digits() == at_bob.digits() and at_alice.equals(at_bob)
        assert at_alice.matches_scanned(at_bob.qr_bytes())
    assert len(at_bob.digits()) == 60
    known = bob.account.peer_user(alice_phone.user)
    assert not known.verified and known.device_list.version == 2
    bob.account.mark_user_verified(alice_phone.user, known.key)
    assert bob.account.peer_user(alice_phone.user).verified


def test_a_group_of_three_apps(server):
    alice = server.install("alice", "chirp", "alice")
    bob = server.install("bob", "parley", "bob")
    carol = server.install("carol", "murmur", "carol")
    for other in (bob, carol):
        alice.meet(other.user)
    created = alice.account.create_group([bob.user, carol.user], NOW)
    group = created.group
    for e in created.fan_out.envelopes:
        server.mail(e)
    for member in (bob, carol):
        (envelope,) = server.take_mail(member.address)
        event = member.read(envelope).group_event
        assert event == kinseal.GroupEvent.JOINED(group=group, epoch=0)
    state = bob.account.group_state(group)
    assert state.epoch == 0 and len(state.members) == 3
    assert [m.admin for m in state.members if m.user == alice.user] == [True]
    assert bob.account.groups() == [group]

    def say(device, text, readers):
        device.meet(alice.user) if device is not alice else None
        for other in (bob, carol):
            if other is not device:
                device.meet(other.user)
        sent = device.account.group_send(group, text.encode(), NOW)
        assert kinseal.route_group(sent.message).group == group
        for e in sent.distributions.envelopes:
            server.mail(e)
        for reader in readers:
            for envelope in server.take_mail(reader.address):
                event = reader.read(envelope).group_event
                assert isinstance(event, kinseal.GroupEvent.SENDER_KEY)
            got = reader.account.group_decrypt(device.address, sent.message)
            assert got.plaintext == text.encode() and got.group == group
        return sent.message

    say(alice, "welcome!", [bob, carol])
    say(bob, "thanks", [alice, carol])
    say(carol, "hi all", [alice, bob])

    # Carol leaves by herself; the next message is not hers to read.
    fan = carol.account.leave_group(group, NOW)
    for e in fan.envelopes:
        server.mail(e)
    for member in (alice, bob):
        for envelope in server.take_mail(member.address):
            event = member.read(envelope).group_event
            assert isinstance(event, kinseal.GroupEvent.CHANGED)
            assert event.removed == [carol.user] and event.epoch == 1
    assert alice.account.group_state(group).epoch == 1
    secret = say(alice, "just us now", [bob])
    try:
        carol.account.group_decrypt(alice.address, secret)
    except kinseal.KinsealError.Account as e:
        assert e.kind == "NotGroupMember"
    else:
        raise AssertionError("a member who left read the group")

    # Alice, an admin, removes Bob; he reads nothing after.
    fan = alice.account.remove_group_members(group, [bob.user], NOW)
    for e in fan.envelopes:
        server.mail(e)
    for envelope in server.take_mail(bob.address):
        event = bob.read(envelope).group_event
        assert isinstance(event, kinseal.GroupEvent.CHANGED)
        assert event.removed == [bob.user] and event.epoch == 2
    alone = alice.account.group_send(group, b"anyone?", NOW)
    try:
        bob.account.group_decrypt(alice.address, alone.message)
    except kinseal.KinsealError.Account as e:
        assert e.kind == "NotGroupMember"
    else:
        raise AssertionError("a removed member read the group")


def test_restart_from_the_sqlite_files(server):
    alice = server.install("alice", "chirp", "alice")
    bob = server.install("bob", "parley", "bob")
    alice.send(bob.user, "one")
    assert bob.read_all() == ["one"]
    bob.send(alice.user, "two")
    bob.send(alice.user, "three")
    directory_path = str(server.folder / "directory.sqlite")

    # Both apps and the server are killed, and start from their files.
    del alice.account, server.directory
    server.directory = kinseal.Directory.open(directory_path)
    alice.account = kinseal.Account.open(alice.path, alice.storage_key, 1)
    assert alice.address.user_id == b"alice"
    assert alice.read_all() == ["two", "three"]
    alice.send(bob.user, "back")
    assert bob.read_all() == ["back"]

    # The wrong storage key opens nothing.
    try:
        kinseal.Account.open(alice.path, bytes(32), 1)
    except kinseal.KinsealError.Storage as e:
        assert e.kind in ("SealBroken", "UnknownStorageKey")
    else:
        raise AssertionError("opened with the wrong key")


def test_an_identity_change(server):
    alice = server.install("alice", "chirp", "alice")
    bob = server.install("bob", "parley", "bob")
    alice.send(bob.user, "hi")
    assert bob.read_all() == ["hi"]
    before = alice.account.user_safety_number(bob.user).digits()

    # Bob loses his phone and starts over: new keys at the same address.
    assert server.directory.remove(bob.address)
    bob2 = server.device("bob-new", "parley", "bob")
    assert server.directory.register(bob2.address, bob2.account.identity_key()) == (
        kinseal.Registration.NEW
    )
    server.directory.upload(bob2.address, bob2.account.refresh_prekeys(NOW, None))
    fresh = bob2.account.device_list().bytes
    server.directory.reset_device_list(bob2.user, fresh)

    try:
        alice.account.update_device_lists([fresh], NOW)
    except kinseal.KinsealError.Trust as e:
        assert e.kind == "UserKeyChanged"
    else:
        raise AssertionError("a new user key was taken silently")
    # Until Alice accepts it, Bob's new device cannot be reached.
    try:
        alice.account.start_session(bob2.address, server.directory.take_bundle(bob2.address), NOW)
    except kinseal.KinsealError.Account as e:
        assert e.kind == "UnlistedDevice"
    else:
        raise AssertionError("talked to an unaccepted key")

    change = alice.account.accept_user_identity(fresh, NOW)
    assert change.previous_user_key == bob.account.user_identity_key()
    assert not alice.account.has_session(bob2.address)
    after = alice.account.user_safety_number(bob.user).digits()
    assert after != before
    alice.send(bob2.user, "welcome back")
    assert bob2.read_all() == ["welcome back"]


def test_device_identity_accept_and_verify(server):
    alice = server.install("alice", "chirp", "alice")
    bob = server.install("bob", "parley", "bob")
    alice.send(bob.user, "hi")
    bob.read_all()
    known = alice.account.peer_identity(bob.address)
    assert known.key == bob.account.identity_key() and not known.verified
    number = alice.account.safety_number(bob.address)
    assert number.matches_scanned(bob.account.safety_number(alice.address).qr_bytes())
    alice.account.mark_verified(bob.address, known.key)
    assert alice.account.peer_identity(bob.address).verified
    # Accepting the key on record again changes nothing.
    alice.account.accept_identity(bob.address, known.key, NOW)
    assert alice.account.peer_identity(bob.address).key == known.key


def test_decrypt_with_commits_only_what_the_app_stored(server):
    alice = server.install("alice", "chirp", "alice")
    bob = server.install("bob", "parley", "bob")
    bob.meet(alice.user)
    first = alice.send(bob.user, "first").envelopes[0].bytes
    stored = []

    class Refuse(kinseal.Delivery):
        def deliver(self, message):
            raise IOError("disk full")

    class Store(kinseal.Delivery):
        def deliver(self, message):
            stored.append(message.plaintext)

    try:
        bob.account.decrypt_with(alice.address, first_message(first), NOW, Refuse())
    except kinseal.KinsealError.Callback as e:
        assert "disk full" in e.detail
    else:
        raise AssertionError("a refused delivery succeeded")
    assert not bob.account.has_session(alice.address) or stored == []
    # Nothing committed: the same message decrypts again, once.
    got = bob.account.decrypt_with(alice.address, first_message(first), NOW, Store())
    assert got.plaintext == b"first" and stored == [b"first"]
    try:
        bob.account.decrypt_with(alice.address, first_message(first), NOW, Store())
    except kinseal.KinsealError.Protocol as e:
        assert e.kind == "Duplicate"
    assert stored == [b"first"]


def first_message(envelope_bytes):
    """The message inside an envelope, for the pairwise calls: the same
    bytes `encrypt` returns."""
    return kinseal.decode_envelope(envelope_bytes).message


def test_one_account_shared_between_threads(server):
    from concurrent.futures import ThreadPoolExecutor

    alice = server.install("alice", "chirp", "alice")
    bob = server.install("bob", "parley", "bob")
    bob.meet(alice.user)
    alice.meet(bob.user)
    first = alice.account.encrypt_envelope(bob.address, b"first", NOW)
    assert bob.read(first.bytes).plaintext == b"first"

    def send(i):
        return alice.account.encrypt_envelope(bob.address, b"%d" % i, NOW).bytes

    with ThreadPoolExecutor(4) as pool:
        sent = list(pool.map(send, range(40)))

    def read(envelope):
        return bob.account.decrypt_envelope(envelope, NOW).plaintext

    # Each call is one transaction: all 40 arrive, whatever the order.
    with ThreadPoolExecutor(4) as pool:
        got = sorted(pool.map(read, reversed(sent)))
    assert got == sorted(b"%d" % i for i in range(40))


def test_a_lost_session_recovers_through_a_receipt(server):
    alice = server.install("alice", "chirp", "alice")
    bob = server.install("bob", "parley", "bob")
    alice.send(bob.user, "one")
    assert bob.read_all() == ["one"]
    bob.send(alice.user, "two")
    assert alice.read_all() == ["two"]
    # A message that does not decrypt at Bob's (here: damaged on the way).
    (lost,) = alice.send(bob.user, "three").envelopes
    damaged = bytearray(server.take_mail(bob.address)[0])
    damaged[-1] ^= 1
    outcome = bob.account.decrypt_envelope_or_receipt(bytes(damaged), NOW)
    assert isinstance(outcome, kinseal.DecryptOutcome.FAILED)
    assert isinstance(outcome.error, kinseal.KinsealError.DecryptionFailed)
    assert outcome.receipt is not None
    # The receipt reaches Alice: her session closes, and she knows which
    # message to send again.
    handled = alice.account.handle_receipt(outcome.receipt, NOW)
    assert handled.session_closed and handled.device == bob.address
    assert handled.failed == kinseal.failed_message_of(lost.message)
    assert not alice.account.has_session(bob.address)
    alice.send(bob.user, "three")
    assert bob.read_all() == ["three"]
    ok = bob.account.decrypt_envelope_or_receipt(
        alice.account.encrypt_envelope(bob.address, b"four", NOW).bytes, NOW
    )
    assert ok == kinseal.DecryptOutcome.DECRYPTED(message=ok.message)
    assert ok.message.plaintext == b"four"
