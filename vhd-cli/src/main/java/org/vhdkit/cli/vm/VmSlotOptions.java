package org.vhdkit.cli.vm;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.vhdkit.cli.conventions.CommandFailure;
import org.vhdkit.stack.vm.HyperVLimits;
import org.vhdkit.stack.vm.Slot;
import org.vhdkit.stack.vm.VmConfigurationException;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * The slot options of {@code vhd vm attach} and {@code detach} ({@code @Mixin}):
 * {@code --controller scsi:N --lun L} or {@code --controller ide:C:D}; {@code --controller scsi:N:L},
 * the form {@code vhd vm show} prints, is read too. A slot that is not written so is a usage error
 * (64); one a VM does not have (controller 4, LUN 64, IDE device 2) is refused with the limit (65).
 */
final class VmSlotOptions {
    private static final Pattern SYNTAX = Pattern.compile("(ide|scsi):(\\d{1,4})(?::(\\d{1,4}))?");

    @Option(names = "--controller", paramLabel = "CONTROLLER", required = true,
            description = "scsi:N (SCSI controller N, 0 to 3, with --lun) or ide:C:D (IDE controller C, 0 or 1;"
                    + " device D, 0 master or 1 slave).")
    String controller;

    @Option(names = "--lun", paramLabel = "L", description = "With --controller scsi:N: the LUN, 0 to 63.")
    Integer lun;

    /** The slot the options name. */
    Slot slot(CommandSpec spec) throws CommandFailure {
        Matcher m = SYNTAX.matcher(controller.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new ParameterException(spec.commandLine(), "'" + controller + "' is not a controller; write"
                    + " --controller scsi:N --lun L or --controller ide:C:D");
        }
        boolean scsi = m.group(1).equals("scsi");
        int number = Integer.parseInt(m.group(2));
        String third = m.group(3);
        Slot slot;
        if (scsi) {
            if (third == null && lun == null) {
                throw new ParameterException(spec.commandLine(), "--controller " + controller + " needs --lun L, the"
                        + " LUN on that controller (0 to " + (HyperVLimits.SCSI_LUNS_PER_CONTROLLER - 1) + ")");
            }
            if (third != null && lun != null) {
                throw new ParameterException(spec.commandLine(), "give the LUN once: --controller scsi:" + number
                        + " --lun " + lun + ", or --controller " + controller + " alone");
            }
            int unit = third != null ? Integer.parseInt(third) : lun;
            if (unit < 0 || unit >= HyperVLimits.SCSI_LUNS_PER_CONTROLLER) {
                throw CommandFailure.refused("scsi:" + number + ":" + unit + " does not exist: a SCSI controller has"
                        + " LUNs 0 to " + (HyperVLimits.SCSI_LUNS_PER_CONTROLLER - 1));
            }
            slot = Slot.scsi(number, unit);
        } else {
            if (lun != null) {
                throw new ParameterException(spec.commandLine(), "--lun is for SCSI; an IDE slot is"
                        + " --controller ide:C:D, e.g. ide:0:1");
            }
            if (third == null) {
                throw new ParameterException(spec.commandLine(), "an IDE slot is --controller ide:C:D (controller 0"
                        + " or 1, device 0 or 1), e.g. ide:" + number + ":0");
            }
            slot = Slot.ide(number, Integer.parseInt(third));
        }
        try {
            return parse(slot.toString());
        } catch (VmConfigurationException e) {
            throw CommandFailure.refused(e.problem(), e);
        }
    }

    /** {@code ide:C:D} or {@code scsi:N:L}, checked against the slots a VM has. */
    static Slot parse(String text) throws VmConfigurationException {
        return Slot.parse(text);
    }
}
