/**
 * The vhost-user wire format (qemu's {@code docs/interop/vhost-user.rst}) and the virtio-scsi
 * structures a vhost-user-scsi backend reads and writes in guest memory (the virtio specification's
 * SCSI host device chapter), as typed codecs: no socket, thread or mapping of their own.
 *
 * <ul>
 *   <li>{@link org.vhdkit.stack.protocol.vhostuser.VhostUser}: request codes, header flags, feature
 *       and protocol-feature bits; {@link org.vhdkit.stack.protocol.vhostuser.MessageHeader} the
 *       12-byte header of every message.
 *   <li>The payloads: {@link org.vhdkit.stack.protocol.vhostuser.MemoryTable} (SET_MEM_TABLE),
 *       {@link org.vhdkit.stack.protocol.vhostuser.VringState},
 *       {@link org.vhdkit.stack.protocol.vhostuser.VringAddress},
 *       {@link org.vhdkit.stack.protocol.vhostuser.VringFile},
 *       {@link org.vhdkit.stack.protocol.vhostuser.LogBase} (SET_LOG_BASE) and
 *       {@link org.vhdkit.stack.protocol.vhostuser.ConfigPayload}.
 *   <li>{@link org.vhdkit.stack.protocol.vhostuser.VirtioScsi}: the request, response, task
 *       management, asynchronous notification and event layouts, the 8-byte LUN field and the
 *       device configuration space.
 * </ul>
 *
 * Everything here is little-endian, as virtio 1.0 and vhost-user on the hosts vhdkit runs on. A
 * codec refuses what the other end sent with a {@link org.vhdkit.stack.protocol.ProtocolException}
 * naming the message, the field and its offset.
 */
package org.vhdkit.stack.protocol.vhostuser;
