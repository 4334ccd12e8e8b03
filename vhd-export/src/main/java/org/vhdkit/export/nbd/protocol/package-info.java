/**
 * The NBD wire format, as the upstream protocol document ({@code doc/proto.md} of
 * NetworkBlockDevice/nbd) defines it: every constant (magics, option and reply types, information
 * types, command types, flags, error values) and every message as a record that decodes itself from
 * and encodes itself to a big-endian {@link java.nio.ByteBuffer}, with its size on the wire stated
 * and checked. No I/O here: the server ({@code org.vhdkit.export.nbd}) and the tests' client share
 * these types, as both ends of the wire.
 *
 * <p>Covered: the fixed newstyle handshake (greeting, client flags, option requests and replies,
 * {@code NBD_OPT_EXPORT_NAME}'s reply with and without the 124 zero bytes, the payloads of
 * {@code NBD_OPT_INFO}/{@code GO}, {@code LIST}, {@code LIST_META_CONTEXT}/{@code SET_META_CONTEXT}
 * and their replies), the compact 28-byte request header, the simple reply and the structured reply
 * chunks {@code NBD_REPLY_TYPE_NONE}, {@code OFFSET_DATA}, {@code OFFSET_HOLE},
 * {@code BLOCK_STATUS} and {@code ERROR}. Not covered: the extended headers
 * ({@code NBD_OPT_EXTENDED_HEADERS}), which neither the qemu 7.2 nor the libnbd 1.14 clients here
 * speak, and TLS.
 *
 * <p>Every decoder refuses what the protocol forbids with an {@link NbdProtocolException} naming
 * the field; encoders take only values that fit, and throw {@link IllegalArgumentException} (a
 * programming error) otherwise. Every type here is immutable or stateless, so safe from any thread.
 */
package org.vhdkit.export.nbd.protocol;
