/**
 * The wire formats of the storage stack, one package each, as typed codecs shared by both ends of
 * a channel (openvmm keeps {@code storvsp_protocol} apart from {@code storvsp} the same way):
 * {@link org.vhdkit.stack.protocol.vmbus} (VMBus packet descriptors and their range headers),
 * {@link org.vhdkit.stack.protocol.storage} (the storage protocol's packets and SCSI request blocks
 * between StorVSC and StorVSP) and {@link org.vhdkit.stack.protocol.ic} (the integration-service
 * messages). The parent's device models and the guest software both use these codecs and nothing
 * else to read and write the bytes, so the two ends cannot disagree on an offset.
 *
 * <p>This package holds what they share: {@link org.vhdkit.stack.protocol.ProtocolException}, the
 * checked exception a codec throws when it refuses bytes the other end sent. Codecs touch no
 * channel, thread or memory of their own: they read and write the segment they are given.
 */
package org.vhdkit.stack.protocol;
