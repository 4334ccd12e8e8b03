/**
 * The storage protocol between the guest's StorVSC and the parent's StorVSP, as typed codecs both
 * ends use: {@link org.vhdkit.stack.protocol.storage.PacketHeader} (every packet's 12-byte header),
 * its unions {@link org.vhdkit.stack.protocol.storage.ProtocolVersion} and
 * {@link org.vhdkit.stack.protocol.storage.ChannelProperties}, and the SCSI request block in both
 * {@linkplain org.vhdkit.stack.protocol.storage.SrbLayout layouts} (0x24 bytes with 0x12 of sense
 * before version 5.1, 0x34 with 0x14 from it on) as the record
 * {@link org.vhdkit.stack.protocol.storage.Srb} and the flyweight
 * {@link org.vhdkit.stack.protocol.storage.SrbView}. The operations, versions and status values are
 * in {@link org.vhdkit.stack.protocol.storage.StorageProtocol}, the constants' home.
 *
 * <p>Where the facts come from: the project's storage-protocol notes
 * ({@code shared/design/storage-protocol-notes.md}, "Storage protocol over VMBus"), which follow
 * openvmm's {@code storvsp_protocol} crate and Linux's {@code drivers/scsi/storvsc_drv.c}
 * ({@code vstor_packet}, {@code vmscsi_request}). This package is modelled on that crate: the
 * wire format apart from either end.
 *
 * <p>Who uses it: the parent's {@code org.vhdkit.stack.storvsp.StorVsp} and the guest's
 * {@code StorvscController}, each through one reused buffer and {@code SrbView} per direction on
 * the per-request path (no record per request: the provider's path allocates nothing), and through
 * the records during initialization. Decoding bytes a peer sent refuses short, long or impossible
 * input with {@link org.vhdkit.stack.protocol.ProtocolException}, never with an unchecked exception;
 * values the protocol answers rather than refuses (an unknown operation, a bad LUN) are left to the
 * provider.
 */
package org.vhdkit.stack.protocol.storage;
