// The pytest scenario's core on the JVM, through the generated Kotlin:
// two apps, a directory, a session, a tampered message, a duplicate, a
// first message before the sender's list is known, and a group.
// Run by ../../kotlin.sh.

import uniffi.kinseal_ffi.*

const val NOW: ULong = 1_767_225_600uL

fun check(ok: Boolean, what: String) {
    if (!ok) throw AssertionError(what)
}

fun user(app: String, name: String) = UserAddress(app.toByteArray(), name.toByteArray())

fun online(directory: Directory, account: Account) {
    val me = account.address()
    directory.register(me, account.identityKey())
    directory.upload(me, account.refreshPrekeys(NOW, null)!!)
    directory.publishDeviceList(UserAddress(me.appId, me.userId), account.deviceList().bytes)
}

inline fun <reified E : Throwable> expect(what: String, block: () -> Unit): E {
    try {
        block()
    } catch (e: Throwable) {
        if (e is E) return e
        throw AssertionError("$what: expected ${E::class.simpleName}, got $e")
    }
    throw AssertionError("$what: no exception")
}

/** A direct buffer holding `bytes`: what a `Peer` borrows without a copy. */
fun direct(bytes: ByteArray): java.nio.ByteBuffer =
    java.nio.ByteBuffer.allocateDirect(bytes.size).put(bytes).flip()

fun main() {
    val directory = Directory.openInMemory()
    val alice = Account.createInMemory(DeviceAddress("chirp".toByteArray(), "alice".toByteArray(), 1u), NOW)
    val bob = Account.createInMemory(DeviceAddress("parley".toByteArray(), "bob".toByteArray(), 1u), NOW)
    online(directory, alice)
    online(directory, bob)

    alice.updateDeviceLists(listOf(directory.deviceList(user("parley", "bob"))!!), NOW)
    check(alice.startSession(bob.address(), directory.takeBundle(bob.address()), NOW) == IdentityStatus.New, "new identity")
    val hello = alice.encryptEnvelope(bob.address(), "hi Bob".toByteArray(), NOW)

    // Bob has not got Alice's list yet: NoDeviceList, then it decrypts.
    val e = expect<KinsealException.Account>("first message") { bob.decryptEnvelope(hello.bytes, NOW) }
    check(e.kind == "NoDeviceList", "kind ${e.kind}")
    bob.updateDeviceLists(listOf(directory.deviceList(user("chirp", "alice"))!!), NOW)

    val tampered = hello.bytes.copyOf()
    tampered[tampered.size - 1] = (tampered[tampered.size - 1].toInt() xor 1).toByte()
    expect<KinsealException.DecryptionFailed>("tampered") { bob.decryptEnvelope(tampered, NOW) }
    check(String(bob.decryptEnvelope(hello.bytes, NOW).plaintext) == "hi Bob", "plaintext")
    val reply = bob.encryptEnvelope(alice.address(), "hi Alice".toByteArray(), NOW)
    check(String(alice.decryptEnvelope(reply.bytes, NOW).plaintext) == "hi Alice", "reply")
    val dup = expect<KinsealException.Protocol>("duplicate") { alice.decryptEnvelope(reply.bytes, NOW) }
    check(dup.kind == "Duplicate", "kind ${dup.kind}")
    expect<KinsealException.Decode>("garbage") { decodeEnvelope("garbage".toByteArray()) }

    val created = alice.createGroup(listOf(user("parley", "bob")), NOW)
    for (envelope in created.fanOut.envelopes) {
        check(bob.decryptEnvelope(envelope.bytes, NOW).groupEvent is GroupEvent.Joined, "joined")
    }
    val sent = alice.groupSend(created.group, "hello group".toByteArray(), NOW)
    for (envelope in sent.distributions.envelopes) bob.decryptEnvelope(envelope.bytes, NOW)
    check(String(bob.groupDecrypt(alice.address(), sent.message).plaintext) == "hello group", "group")
    check(bob.groupState(created.group)!!.members.size == 2, "members")

    // The fast path: `Peer` handles and borrowed (direct) byte buffers.
    val toBob = alice.peer(bob.address())
    val toAlice = bob.peer(alice.address())
    val fast = toBob.encrypt(direct("over a peer".toByteArray()), NOW)
    check(String(toAlice.decrypt(direct(fast), NOW).plaintext) == "over a peer", "peer")
    expect<IllegalArgumentException>("a heap buffer") { toBob.encrypt(java.nio.ByteBuffer.wrap(fast), NOW) }
    val change = alice.changeGroup(
        created.group, listOf(GroupOp.SetRole(bob.userIdentityKey(), true)), NOW)
    for (envelope in change.envelopes) bob.decryptEnvelope(envelope.bytes, NOW)
    check(bob.groupState(created.group)!!.members.all { it.admin }, "both admins")

    val safety = alice.userSafetyNumber(user("parley", "bob"))!!
    check(safety.matchesScanned(bob.userSafetyNumber(user("chirp", "alice"))!!.qrBytes()), "safety number")
    println("kotlin: 1 passed, 0 failed")
}
