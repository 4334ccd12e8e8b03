package org.vhdkit.vhd.image;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.vhdkit.vhd.format.DynamicHeader;
import org.vhdkit.vhd.format.ParentLocator;
import org.vhdkit.vhd.format.PlatformCode;
import org.vhdkit.vhd.format.VhdFormatException;
import org.vhdkit.vhd.io.ByteStore;
import org.vhdkit.vhd.testing.Fuzzing;

/**
 * Fuzzes parent locator decoding: eight fuzzed locator entries, a fuzzed parent name and fuzzed
 * locator data in a child file (on jimfs), turned into the paths where the parent is looked for
 * ({@link ParentResolver#candidates}) and into text ({@link PlatformCode#decodePath}). Either
 * succeeds or refuses with our declared exception naming the file.
 */
class ParentLocatorFuzzTest {
    @FuzzTest
    void decode(FuzzedDataProvider data) throws IOException {
        byte[] entries = data.consumeBytes(DynamicHeader.LOCATOR_COUNT * ParentLocator.SIZE);
        entries = java.util.Arrays.copyOf(entries, DynamicHeader.LOCATOR_COUNT * ParentLocator.SIZE);
        List<ParentLocator> locators = new ArrayList<>();
        for (int i = 0; i < DynamicHeader.LOCATOR_COUNT; i++) {
            ParentLocator locator = ParentLocator.decode(entries, i * ParentLocator.SIZE);
            locators.add(locator);
            locator.dataSpaceBytes();
            locator.platform().ifPresent(p -> {
                byte[] text = data.consumeBytes(512);
                p.decodePath(text, text.length);
            });
        }
        String parentName = data.consumeString(DynamicHeader.MAX_PARENT_NAME_LENGTH);
        if (parentName.indexOf('\0') >= 0) {
            // As a header read from a file has it: the name ends at its first NUL.
            parentName = parentName.substring(0, parentName.indexOf('\0'));
        }
        byte[] file = data.consumeRemainingAsBytes();
        try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
            Path child = fs.getPath("/images/child.vhd");
            Files.createDirectories(child.getParent());
            Files.write(child, file);
            DynamicHeader header = DynamicHeader.create(1536, 1, 4096)
                    .withParent(new UUID(1, 2), 0, parentName, locators);
            try (ByteStore store = ByteStore.open(child, ByteStore.Mode.READ_ONLY, ByteStore.Backing.CHANNEL)) {
                ParentResolver.candidates(store, header);
            } catch (VhdFormatException e) {
                Fuzzing.assertClear(e, child.toString());
            }
        }
    }
}
