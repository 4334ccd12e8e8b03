/**
 * The VMBus packet format inside a ring, as typed codecs both ends use: the 16-byte
 * {@link org.vhdkit.stack.protocol.vmbus.PacketDescriptor} with its
 * {@link org.vhdkit.stack.protocol.vmbus.PacketType}, and the range headers of GPA-direct and
 * transfer-page packets ({@link org.vhdkit.stack.protocol.vmbus.RangeHeaders},
 * {@link org.vhdkit.stack.protocol.vmbus.GpaRange},
 * {@link org.vhdkit.stack.protocol.vmbus.TransferPageRange}).
 *
 * <p>Where the facts come from: the storage-protocol notes
 * ({@code shared/design/storage-protocol-notes.md}, "VMBus ring buffer"), which follow openvmm's
 * {@code vmbus_ring} and Linux's {@code drivers/hv/ring_buffer.c} ({@code vmpacket_descriptor},
 * {@code vmdata_gpa_direct}, {@code vmtransfer_page_packet_header}).
 *
 * <p>Who uses it: the ring's reader ({@code org.vhdkit.stack.vmbus.VmbusPacket}, the parent's and
 * the guest's) and writer ({@code RingWriter}), and the guest's range builders
 * ({@code GpaRangeList}, {@code TransferPageRanges}). Every packet crosses these codecs, so they
 * offer static functions over the descriptor word and range words that allocate nothing (the
 * records are the value form, for tests and tools); {@code PacketDescriptor.check} reports what is
 * wrong with an enum constant, and the reader turns it into the channel's closing reason.
 *
 * <p>Not here: the channel messages (offer, open, GPADL, teardown, rescind). The in-JVM VMBus
 * server takes them as method calls of {@code VmbusGuest} in place of the hypercall and SynIC
 * message path, so they have no bytes to encode; {@code ChannelOffer} and {@code GuestNotification}
 * are their typed form. A server that speaks to a real guest would add their codecs here.
 */
package org.vhdkit.stack.protocol.vmbus;
