package org.vhdkit.cli;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.IOException;
import java.nio.file.FileSystem;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * The base of the in-process CLI tests: a fresh jimfs file system for each test (Unix, working
 * directory /work), in {@link #fs}, closed after it.
 */
public abstract class OnJimfs {
    /** The test's file system; file arguments given to {@code vhd} resolve in it. */
    protected FileSystem fs;

    @BeforeEach
    protected final void openJimfs() {
        fs = Jimfs.newFileSystem(Configuration.unix());
    }

    @AfterEach
    protected final void closeJimfs() throws IOException {
        fs.close();
    }
}
