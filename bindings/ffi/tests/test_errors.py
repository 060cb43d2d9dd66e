"""Each kind of kinseal error reaches Python as its own exception, with
the case name in `kind`; DecryptionFailed carries nothing."""

import os

import pytest

import kinseal
from conftest import NOW


def addr(app, user, device=1):
    return kinseal.DeviceAddress(app_id=app, user_id=user, device_id=device)


def test_every_kind_is_a_kinseal_error():
    for name in [
        "Decode", "Protocol", "Misuse", "DecryptionFailed", "Address", "Account",
        "Trust", "Upload", "Directory", "Storage", "DeviceList", "Group", "Link",
        "AccountLink", "InvalidArgument", "Callback", "Other",
    ]:
        assert issubclass(getattr(kinseal.KinsealError, name), kinseal.KinsealError)
        assert issubclass(getattr(kinseal.KinsealError, name), Exception)


@pytest.mark.parametrize(
    "call",
    [
        lambda: kinseal.decode_envelope(b"garbage"),
        lambda: kinseal.route(b"\x00" * 10),
        lambda: kinseal.route_group(b"nonsense"),
        lambda: kinseal.Account.create_in_memory(addr(b"a", b"b"), NOW).link_device(
            b"not a code", 2, NOW
        ),
        lambda: kinseal.validate_upload(b"\x01\x02", bytes(32)),
    ],
)
def test_garbage_bytes_are_decode_errors(call):
    with pytest.raises(kinseal.KinsealError.Decode) as e:
        call()
    assert e.value.kind and e.value.detail


def test_a_tampered_message_is_decryption_failed(server):
    alice = server.install("alice", "chirp", "alice")
    bob = server.install("bob", "parley", "bob")
    bob.meet(alice.user)
    (envelope,) = alice.send(bob.user, "hi").envelopes
    tampered = bytearray(envelope.bytes)
    tampered[-1] ^= 1
    with pytest.raises(kinseal.KinsealError.DecryptionFailed) as e:
        bob.account.decrypt_envelope(bytes(tampered), NOW)
    assert str(e.value) in ("", "decryption failed") or "detail" not in dir(e.value)
    # Nothing changed: the real one still decrypts.
    assert bob.account.decrypt_envelope(envelope.bytes, NOW).plaintext == b"hi"


def test_a_duplicate_is_a_protocol_error(server):
    alice = server.install("alice", "chirp", "alice")
    bob = server.install("bob", "parley", "bob")
    bob.meet(alice.user)
    alice.send(bob.user, "one")
    bob.read_all()
    bob.send(alice.user, "two")
    alice.read_all()
    (envelope,) = alice.send(bob.user, "three").envelopes
    assert bob.account.decrypt_envelope(envelope.bytes, NOW).plaintext == b"three"
    with pytest.raises(kinseal.KinsealError.Protocol) as e:
        bob.account.decrypt_envelope(envelope.bytes, NOW)
    assert e.value.kind == "Duplicate"


def test_account_errors():
    alice = kinseal.Account.create_in_memory(addr(b"chirp", b"alice"), NOW)
    bob = addr(b"parley", b"bob")
    with pytest.raises(kinseal.KinsealError.Account) as e:
        alice.encrypt(bob, b"hi", NOW)
    assert e.value.kind in ("NoSession", "NoDeviceList")
    with pytest.raises(kinseal.KinsealError.Account) as e:
        alice.group_send(os.urandom(32), b"hi", NOW)
    assert e.value.kind == "UnknownGroup"


def test_misuse_a_plaintext_too_long(server):
    alice = server.install("alice", "chirp", "alice")
    bob = server.install("bob", "parley", "bob")
    alice.meet(bob.user)
    with pytest.raises(kinseal.KinsealError.Misuse) as e:
        alice.account.encrypt(bob.address, bytes(300 * 1024), NOW)
    assert e.value.kind == "PlaintextTooLong"


def test_address_errors():
    with pytest.raises(kinseal.KinsealError.Address):
        kinseal.Account.create_in_memory(addr(b"", b"alice"), NOW)
    with pytest.raises(kinseal.KinsealError.Address):
        kinseal.Account.create_in_memory(addr(b"chirp", b"x" * 10_000), NOW)


def test_invalid_arguments(tmp_path):
    path = str(tmp_path / "a.sqlite")
    with pytest.raises(kinseal.KinsealError.InvalidArgument):
        kinseal.Account.create(path, b"short key", 1, addr(b"chirp", b"alice"), NOW)
    alice = kinseal.Account.create_in_memory(addr(b"chirp", b"alice"), NOW)
    with pytest.raises(kinseal.KinsealError.InvalidArgument):
        alice.group_state(b"too short")
    with pytest.raises(kinseal.KinsealError.InvalidArgument):
        alice.accept_identity(addr(b"parley", b"bob"), b"\x01" * 31, NOW)
    request = kinseal.LinkRequest()
    with pytest.raises(kinseal.KinsealError):
        request.open(b"bogus")
    with pytest.raises(kinseal.KinsealError.InvalidArgument):
        request.open(b"bogus")  # used up


def test_storage_errors(tmp_path):
    path = tmp_path / "not-a-db.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(kinseal.KinsealError.Storage) as e:
        kinseal.Account.open(str(path), bytes(32), 1)
    assert e.value.kind
    with pytest.raises(kinseal.KinsealError.Account) as e:
        kinseal.Account.open(str(tmp_path / "empty.sqlite"), bytes(32), 1)
    assert e.value.kind == "NoAccount"


def test_server_errors(server):
    alice = server.install("alice", "chirp", "alice")
    bob = server.device("bob", "parley", "bob")
    d = server.directory
    with pytest.raises(kinseal.KinsealError.Directory) as e:
        d.take_bundle(bob.address)
    assert e.value.kind == "UnknownDevice"
    d.register(bob.address, bob.account.identity_key())
    with pytest.raises(kinseal.KinsealError.Directory) as e:
        d.take_bundle(bob.address)
    assert e.value.kind == "NotReady"
    upload = bob.account.refresh_prekeys(NOW, None)
    # Bob's upload under Alice's identity: refused.
    with pytest.raises(kinseal.KinsealError.Upload):
        kinseal.validate_upload(upload, alice.account.identity_key())
    summary = kinseal.validate_upload(upload, bob.account.identity_key())
    assert summary.has_signed_prekey and summary.counts.one_time > 0
    with pytest.raises(kinseal.KinsealError.Upload):
        d.upload(alice.address, upload)
    assert d.upload(bob.address, upload) == summary.counts
    assert [i.ready for i in d.devices(bob.user)] == [True]


def test_device_list_rollback_is_refused(server):
    alice = server.install("alice", "chirp", "alice")
    bob = server.install("bob", "parley", "bob")
    v1 = bob.account.device_list().bytes
    server.link(bob, "bob-laptop", 2)
    v2 = bob.account.device_list().bytes
    alice.account.update_device_lists([v1], NOW)
    alice.account.update_device_lists([v2], NOW)
    with pytest.raises(kinseal.KinsealError.DeviceList):
        alice.account.update_device_lists([v1], NOW)


def test_a_forged_group_message_is_refused(server):
    alice = server.install("alice", "chirp", "alice")
    bob = server.install("bob", "parley", "bob")
    alice.meet(bob.user)
    created = alice.account.create_group([bob.user], NOW)
    for e in created.fan_out.envelopes:
        bob.read(e.bytes)
    sent = alice.account.group_send(created.group, b"hi", NOW)
    for e in sent.distributions.envelopes:
        bob.read(e.bytes)
    assert bob.account.group_decrypt(alice.address, sent.message).plaintext == b"hi"
    with pytest.raises(kinseal.KinsealError.Group) as e:
        bob.account.group_decrypt(alice.address, sent.message)
    assert e.value.kind == "Duplicate"
    forged = bytearray(sent.message)
    forged[-1] ^= 1
    with pytest.raises((kinseal.KinsealError.DecryptionFailed, kinseal.KinsealError.Group)):
        bob.account.group_decrypt(alice.address, bytes(forged))


def test_a_failing_fetcher_is_a_callback_error(server):
    alice = server.install("alice", "chirp", "alice")

    class Broken(kinseal.DeviceListFetcher):
        def fetch_device_lists(self, user, held):
            raise ConnectionError("server down")

    bob = kinseal.UserAddress(app_id=b"parley", user_id=b"bob")
    with pytest.raises(kinseal.KinsealError.Callback) as e:
        alice.account.refresh_device_lists(bob, Broken(), NOW)
    assert "server down" in e.value.detail
