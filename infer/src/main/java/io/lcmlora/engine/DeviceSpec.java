package io.lcmlora.engine;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.util.Locale;

/**
 * A device as configs and the CLI name it: {@code auto} (the first GPU when the engine sees one, else the CPU),
 * {@code cpu}, {@code gpu} / {@code gpu:N} ({@code cuda}, {@code cuda:N} accepted). The one device parser of the
 * project; {@link #resolve()} turns it into a DJL {@link Device}.
 *
 * @param kind auto, cpu or gpu
 * @param index the GPU index (0 unless {@code gpu:N}); 0 for auto and cpu
 */
public record DeviceSpec(Kind kind, int index) {
    public enum Kind {
        AUTO,
        CPU,
        GPU
    }

    public static final String EXPECTED = "auto, cpu, gpu or gpu:N";

    public DeviceSpec {
        if (kind == null) {
            throw new IllegalArgumentException("device kind is missing: expected " + EXPECTED);
        }
        if (index < 0 || index > 1023 || (kind != Kind.GPU && index != 0)) {
            throw new IllegalArgumentException("device index " + index + " is out of range for " + kind);
        }
    }

    public static DeviceSpec parse(String s) {
        if (s == null || s.isBlank()) {
            throw new IllegalArgumentException("device is missing: expected " + EXPECTED);
        }
        String d = s.trim().toLowerCase(Locale.ROOT);
        switch (d) {
            case "auto":
                return new DeviceSpec(Kind.AUTO, 0);
            case "cpu":
                return new DeviceSpec(Kind.CPU, 0);
            case "gpu", "cuda":
                return new DeviceSpec(Kind.GPU, 0);
            default:
                break;
        }
        int colon = d.indexOf(':');
        if (colon > 0 && (d.startsWith("gpu:") || d.startsWith("cuda:"))) {
            String n = d.substring(colon + 1);
            if (n.matches("\\d{1,4}")) {
                return new DeviceSpec(Kind.GPU, Integer.parseInt(n));
            }
        }
        throw new IllegalArgumentException("device '" + s + "': expected " + EXPECTED);
    }

    /** The DJL device, given how many GPUs the engine sees. */
    public Device resolve(int visibleGpus) {
        return switch (kind) {
            case CPU -> Device.cpu();
            case AUTO -> visibleGpus > 0 ? Device.gpu(0) : Device.cpu();
            case GPU -> {
                if (visibleGpus == 0) {
                    throw new IllegalArgumentException("device " + this + ": the engine sees no GPU (a CPU-only libtorch "
                            + "is loaded, or libcudart is not on the library path); build the JNI against a CUDA libtorch "
                            + "with tools/build-jni.sh and run with LCM_ENGINE=<its output>, or use cpu");
                }
                if (index >= visibleGpus) {
                    throw new IllegalArgumentException("device " + this + ": the engine sees " + visibleGpus
                            + " GPU(s), numbered 0-" + (visibleGpus - 1));
                }
                yield Device.gpu(index);
            }
        };
    }

    /** The DJL device on this engine (loads the engine). */
    public Device resolve() {
        return resolve(kind == Kind.CPU ? 0 : Engine.getInstance().getGpuCount());
    }

    @Override
    public String toString() {
        return switch (kind) {
            case AUTO -> "auto";
            case CPU -> "cpu";
            case GPU -> index == 0 ? "gpu" : "gpu:" + index;
        };
    }
}
