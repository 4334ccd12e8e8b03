/**
 * The VHD format's on-disk structures as immutable records, each with a decoder that checks every
 * field against the specification (and what real tools accept), refusing with a
 * {@link org.vhdkit.vhd.format.VhdFormatException} that names the field and its offset in the file,
 * and an encoder that writes the exact bytes back: {@link org.vhdkit.vhd.format.Footer},
 * {@link org.vhdkit.vhd.format.DynamicHeader}, {@link org.vhdkit.vhd.format.ParentLocator},
 * {@link org.vhdkit.vhd.format.BlockAllocationTable}, and the values inside them (geometry, disk
 * type, platform codes, time stamps, reserved bytes). Each structure publishes where its fields lie.
 *
 * <p>No I/O here: the callers read the bytes ({@code org.vhdkit.vhd.image}, {@code check}, {@code edit}).
 */
package org.vhdkit.vhd.format;
