/**
 * QMP, the qemu Machine Protocol, as the host sends and reads it on a qemu worker's monitor socket:
 * one JSON object per line; {@link org.vhdkit.stack.protocol.qmp.QmpMessage} encodes commands (with
 * an {@code id} the answer carries back) and decodes what qemu sends (the greeting, a command's
 * {@code return} or {@code error}, an {@code event}). Lines are bounded and everything is checked:
 * qemu runs a hostile guest, so its side is untrusted input too.
 *
 * <p>Wire format: shared by the host's qemu worker ({@code org.vhdkit.stack.qemu}) and its tests.
 */
package org.vhdkit.stack.protocol.qmp;
