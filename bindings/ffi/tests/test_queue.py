"""Draining a queue through the bindings: `decrypt_batch`, one store
transaction for many envelopes, each outcome reported."""

import kinseal
from conftest import NOW


def test_a_queue_is_drained_in_one_batch(server):
    alice = server.install("alice", "chirp", "alice")
    bob = server.install("bob", "parley", "bob")
    carol = server.install("carol", "murmur", "carol")
    bob.meet(alice.user)
    bob.meet(carol.user)
    for sender in (alice, carol):
        for k in range(3):
            sender.send(bob.user, f"{sender.address.user_id.decode()} {k}")
    queue = server.take_mail(bob.address)
    assert len(queue) == 6
    tampered = bytearray(queue[-1])
    tampered[-1] ^= 1
    # A forgery before the real message, then a duplicate and garbage.
    queue = [bytes(tampered)] + queue + [queue[0], b"not an envelope"]

    kept = []

    class Store(kinseal.BatchDelivery):
        def deliver(self, index, message):
            if message.plaintext == b"carol 1":
                raise kinseal.KinsealError.Callback("disk full")
            kept.append((index, message.plaintext))

    results = bob.account.decrypt_batch(queue, NOW, Store())
    assert len(results) == len(queue)
    delivered = [r for r in results if isinstance(r, kinseal.BatchResult.DELIVERED)]
    assert len(delivered) == 5
    assert sorted(p for _, p in kept) == sorted(r.message.plaintext for r in delivered)
    refused = [i for i, r in enumerate(results) if isinstance(r, kinseal.BatchResult.REFUSED)]
    assert len(refused) == 1
    assert isinstance(results[refused[0]].error, kinseal.KinsealError.Callback)
    # The duplicate, the forgery and the garbage each failed on their own.
    assert isinstance(results[0].error, kinseal.KinsealError.DecryptionFailed)
    assert isinstance(results[7].error, kinseal.KinsealError.Protocol)
    assert isinstance(results[8].error, kinseal.KinsealError.Decode)
    # The refused message decrypts again; the delivered ones are committed.
    assert bob.read(queue[refused[0]]).plaintext == b"carol 1"
    try:
        bob.read(queue[2])
    except kinseal.KinsealError.Protocol as e:
        assert e.kind == "Duplicate"
    else:
        raise AssertionError("a delivered message decrypted twice")
