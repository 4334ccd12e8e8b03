/**
 * The consistency check of a VHD file and its repair ({@code vhd check}):
 * {@link org.vhdkit.vhd.check.ImageCheck} is the entry point, {@link org.vhdkit.vhd.check.CheckReport}
 * and {@link org.vhdkit.vhd.check.Finding} what it returns.
 *
 * <p>The check reads the raw file rather than opening a {@link org.vhdkit.vhd.VhdDisk}, which refuses
 * a damaged image at its first fault: {@code Inspection} reads every structure leniently and
 * reports each fault with a stable code, paired with the {@code Fix} that repairs it without
 * guessing, or the reason there is none. Each fix leaves the image valid at every point a crash could
 * stop it.
 */
package org.vhdkit.vhd.check;
