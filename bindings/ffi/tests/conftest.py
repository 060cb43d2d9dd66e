"""Helpers for the kinseal Python tests: a server (the SQLite prekey
directory plus mailboxes) and devices that talk through it, the way an
app would use the bindings."""

import os
from dataclasses import dataclass

import pytest

import kinseal

NOW = 1_767_225_600


def user_of(address):
    return kinseal.UserAddress(app_id=address.app_id, user_id=address.user_id)


class Lists(kinseal.DeviceListFetcher):
    """Device lists from the directory: the latest on first contact, then
    the versions after the one on record."""

    def __init__(self, directory):
        self.directory = directory

    def fetch_device_lists(self, user, held):
        if held is None:
            latest = self.directory.device_list(user)
            return [] if latest is None else [latest]
        return self.directory.device_lists_since(user, held)


class Bundles(kinseal.BundleFetcher):
    def __init__(self, directory):
        self.directory = directory
        self.asked = []

    def fetch_bundle(self, device):
        self.asked.append(device)
        return self.directory.take_bundle(device)


@dataclass
class Device:
    """One app install: its SQLite file, its storage key and account."""

    server: "Server"
    path: str
    storage_key: bytes
    account: kinseal.Account

    @property
    def address(self):
        return self.account.address()

    @property
    def user(self):
        return user_of(self.address)

    def go_online(self):
        d = self.server.directory
        d.register(self.address, self.account.identity_key())
        upload = self.account.refresh_prekeys(NOW, None)
        assert upload is not None
        d.upload(self.address, upload)
        self.publish_list()

    def publish_list(self):
        self.server.directory.publish_device_list(
            self.user, self.account.device_list().bytes
        )

    def meet(self, user):
        """What the send button does before it sends: the user's lists,
        then sessions with each listed device."""
        if user != self.user:
            self.account.refresh_device_lists(user, Lists(self.server.directory), NOW)
        report = self.account.sync_sessions(user, Bundles(self.server.directory), NOW)
        assert report.failed == []
        return report

    def send(self, user, text):
        self.meet(user)
        sent = self.account.encrypt_to_user(user, text.encode(), NOW)
        assert sent.missing == [] and sent.unreachable == []
        for envelope in sent.envelopes:
            self.server.mail(envelope)
        return sent

    def read_all(self):
        """Decrypts everything in this device's mailbox; a first message
        from someone whose list is not on record is retried once the list
        is fetched."""
        texts = []
        for envelope in self.server.take_mail(self.address):
            texts.append(self.read(envelope).plaintext.decode())
        return texts

    def read(self, envelope_bytes):
        try:
            return self.account.decrypt_envelope(envelope_bytes, NOW)
        except kinseal.KinsealError.Account as e:
            if e.kind != "NoDeviceList":
                raise
            sender = kinseal.decode_envelope(envelope_bytes).sender
            self.account.refresh_device_lists(
                user_of(sender), Lists(self.server.directory), NOW
            )
            return self.account.decrypt_envelope(envelope_bytes, NOW)


class Server:
    """An app's server: the prekey directory and a mailbox per device."""

    def __init__(self, folder):
        self.folder = folder
        self.directory = kinseal.Directory.open(str(folder / "directory.sqlite"))
        self.mailboxes = {}

    def mail(self, envelope):
        # The server routes by the envelope's recipient, read from the bytes.
        to = kinseal.decode_envelope(envelope.bytes).recipient
        self.mailboxes.setdefault(_key(to), []).append(envelope.bytes)

    def take_mail(self, address):
        return self.mailboxes.pop(_key(address), [])

    def device(self, name, app, user, device_id=1):
        path = str(self.folder / f"{name}.sqlite")
        key = os.urandom(32)
        address = kinseal.DeviceAddress(
            app_id=app.encode(), user_id=user.encode(), device_id=device_id
        )
        account = kinseal.Account.create(path, key, 1, address, NOW)
        return Device(self, path, key, account)

    def install(self, name, app, user):
        device = self.device(name, app, user)
        device.go_online()
        return device

    def link(self, existing, name, device_id):
        request = kinseal.LinkRequest()
        linked = existing.account.link_device(request.code(), device_id, NOW)
        provisioned = request.open(linked.provisioning_message)
        assert provisioned.device_address() == kinseal.DeviceAddress(
            app_id=existing.address.app_id,
            user_id=existing.address.user_id,
            device_id=device_id,
        )
        path = str(self.folder / f"{name}.sqlite")
        key = os.urandom(32)
        account = kinseal.Account.create_linked(path, key, 1, provisioned, NOW)
        device = Device(self, path, key, account)
        device.go_online()
        existing.publish_list()
        return device


def _key(address):
    return (address.app_id, address.user_id, address.device_id)


@pytest.fixture
def server(tmp_path):
    return Server(tmp_path)
