package org.vhdkit.vhd.image;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.vhdkit.vhd.LocatorText;
import org.vhdkit.vhd.VhdDisk;
import org.vhdkit.vhd.disk.FlatDisk;
import org.vhdkit.vhd.disk.VirtualDisk;
import org.vhdkit.vhd.format.BlockAllocationTable;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.Footer;
import org.vhdkit.vhd.io.ByteStore;

/**
 * A fixed VHD: the disk's bytes as they are, followed by the footer.
 *
 * <p>Thread-safety: as {@link VirtualDisk}; there is no state beyond the store's.
 */
final class FixedVhd extends FlatDisk implements VhdDisk {
    private final Footer footer;
    private final List<String> warnings;

    FixedVhd(ByteStore store, Footer footer, List<String> warnings) {
        super(store);
        this.footer = footer;
        this.warnings = List.copyOf(warnings);
    }

    @Override
    public Path path() {
        return store.path();
    }

    @Override
    public long size() {
        return footer.currentSize();
    }

    @Override
    public Footer footer() {
        return footer;
    }

    @Override
    public Optional<DynamicHeader> dynamicHeader() {
        return Optional.empty();
    }

    @Override
    public Optional<BlockAllocationTable> blockAllocationTable() {
        return Optional.empty();
    }

    @Override
    public Optional<VhdDisk> parent() {
        return Optional.empty();
    }

    @Override
    public List<LocatorText> parentLocators() {
        return List.of();
    }

    @Override
    public long fileSize() {
        return store.size();
    }

    @Override
    public List<String> warnings() {
        return warnings;
    }

    @Override
    public String toString() {
        return "FixedVhd[" + name() + "]";
    }
}
