/**
 * Edits of existing VHD files in place: {@link org.vhdkit.vhd.edit.ImageEdits#resize resize} (grow
 * any type; shrink when nothing is lost), {@link org.vhdkit.vhd.edit.ImageEdits#merge merge} a
 * differencing disk into its parent or an ancestor, {@link org.vhdkit.vhd.edit.ImageEdits#rebase
 * rebase} a differencing disk onto another parent, and {@link org.vhdkit.vhd.edit.ImageEdits#set set}
 * footer fields (UUID, creator).
 *
 * <h2>Crash safety</h2>
 * Unlike {@code org.vhdkit.vhd.transform}, which writes a new file and renames it into place, these
 * edits change the file where it is, as Hyper-V does: a resize or a rebase of a disk of hundreds of
 * GiB should not copy it. They are ordered instead so that the image is valid after each step:
 * <ul>
 * <li>a structure is written where nothing refers to it yet (beyond the end of the file, or in
 * padding) before the header or footer that points at it;</li>
 * <li>a footer is written at the new end of the file before the old one is dropped, so the file
 * always ends in one;</li>
 * <li>headers and footers are rewritten a sector at a time where they can be (a single-sector write
 * is atomic), the trailing footer before its copy at offset 0;</li>
 * <li>every step is forced to stable storage before the next that depends on it.</li>
 * </ul>
 * Each class says which steps it takes and what a crash between two of them leaves, and running an
 * interrupted edit again completes it. Before they write, the edits refuse an image whose trailing
 * footer is damaged: {@code vhd check --repair} should see it first.
 *
 * <p>{@link org.vhdkit.vhd.edit.ImageEdits} is the entry point; the other public types are the
 * options and results it takes and returns.
 */
package org.vhdkit.vhd.edit;
