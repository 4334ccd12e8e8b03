/**
 * The integration-service messages, as typed codecs both ends use: every message starts with the
 * pipe and message headers ({@link org.vhdkit.stack.protocol.ic.IcHeader}) and carries a
 * {@link org.vhdkit.stack.protocol.ic.Negotiate} or a
 * {@link org.vhdkit.stack.protocol.ic.ShutdownMessage} payload; the layout and the constants are in
 * {@link org.vhdkit.stack.protocol.ic.IcMessage}.
 *
 * <p>Where the facts come from: Hyper-V's integration services as Linux's {@code hyperv.h} lays
 * them out ({@code vmbuspipe_hdr}, {@code icmsg_hdr}, {@code icmsg_negotiate},
 * {@code shutdown_msg_data}); the storage-protocol notes ({@code shared/design/storage-protocol-notes.md})
 * give the VMBus packet they travel in (one in-band packet per message, padded to 8 bytes, so the
 * pipe size, not the packet, says where a message ends).
 *
 * <p>Who uses it: the parent's {@code org.vhdkit.stack.ic.ShutdownIc} and the guest's
 * {@code ShutdownGuest}. Decoding bytes the other end sent refuses short, inconsistent or
 * impossible messages with {@link org.vhdkit.stack.protocol.ProtocolException}; whether a
 * well-formed message is the one expected (transaction, type, version) is the ends' to judge.
 */
package org.vhdkit.stack.protocol.ic;
