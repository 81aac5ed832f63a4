package io.lcmlora.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsFuzzTest;
import io.lcmlora.io.SafeTensorsWriter;
import io.lcmlora.io.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded mutation fuzzing of LoRA files (issue 12): 320 files mutated from the first 12 modules of the golden kohya,
 * kohya-sgm, PEFT and diffusers-legacy LoRAs (testdata/golden/lora_formats, made by the script its README names) go
 * through
 * {@link LoraFile#read}, the public "read a LoRA file" entry point. Besides the safetensors mutations, keys are
 * renamed into other formats' conventions, A/B roles swapped, modules dropped and alpha made non-scalar. Each file
 * either gives a consistent index (every module a LoRA pair with rank = A's first dimension) or fails with one of the
 * project's exception types (any subclass: the loading code may grow new ones).
 */
class LoraFileFuzzTest {
    static final long SEED = 0x10BAL;
    static final int FILES = 320;
    static final List<String> SEEDS = List.of("lora_kohya.safetensors", "lora_kohya_sgm.safetensors",
            "lora_peft.safetensors", "lora_diffusers_legacy.safetensors");
    static final String[][] RENAMES = {{"lora_down", "lora_up"}, {"lora_up", "lora_down"}, {"lora_A", "lora_B"},
        {".alpha", ".lora_down.weight"}, {"lora_unet_", "lora_te1_"}, {"lora_unet_", "lora_te_"}, {"lora_A", "hada_w1_a"},
        {"unet.", "text_encoder."}, {"to_q", "to_z"}, {"_0_", "_9_"}, {".weight", ".bias"}, {"lora.down", "lora.up"},
        {"processor.", ""}, {"base_model.model.", ""}, {"input_blocks", "output_blocks"}, {"lora_up", "dora_scale"}};

    /** Modules kept from each golden file: the mutations hit a small header instead of 130 modules' keys. */
    static final int MODULES = 12;

    static LoraKeyMap map;

    /** The first {@code modules} modules of a LoRA file (their A, B and alpha tensors, bytes as stored). */
    static Path subset(Path src, Path dst, int modules) throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter();
        LoraFile index = LoraFile.read(src, map);
        try (SafeTensorsFile f = SafeTensorsFile.open(src)) {
            f.metadata().forEach(w::metadata);
            for (LoraFile.Module m : index.modules().subList(0, modules)) {
                for (String k : new String[] {m.aKey(), m.bKey(), m.alphaKey()}) {
                    if (k != null) {
                        TensorInfo t = f.info(k);
                        w.add(k, t.dtype(), t.shape(), f.bytes(k));
                    }
                }
            }
        }
        w.write(dst);
        return dst;
    }

    @BeforeAll
    static void keyMap() throws IOException {
        LoraKeyMapTest.setUp();
        map = LoraKeyMapTest.map;
    }

    /** Key-level mutations: the header stays valid JSON; names, roles and shapes change. */
    static byte[] mutateKeys(byte[] base, SplittableRandom r, StringBuilder what) {
        long n = ByteBuffer.wrap(base).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        String h = new String(base, 8, (int) n, StandardCharsets.UTF_8);
        String nh;
        switch (r.nextInt(3)) {
            case 0 -> { // rename one occurrence of a convention's marker
                String[] rn = RENAMES[r.nextInt(RENAMES.length)];
                List<Integer> at = new ArrayList<>();
                for (int i = h.indexOf(rn[0]); i >= 0; i = h.indexOf(rn[0], i + 1)) {
                    at.add(i);
                }
                if (at.isEmpty()) {
                    what.append("no '").append(rn[0]).append('\'');
                    return base;
                }
                int i = at.get(r.nextInt(at.size()));
                nh = h.substring(0, i) + rn[1] + h.substring(i + rn[0].length());
                what.append("renamed '").append(rn[0]).append("' at ").append(i);
            }
            case 1 -> { // a shape edited: rank, in/out features, a 4-d shape, an empty one
                int i = h.indexOf("\"shape\":[", r.nextInt(Math.max(1, h.length() - 20)));
                if (i < 0) {
                    i = h.indexOf("\"shape\":[");
                }
                if (i < 0) {
                    what.append("no field");
                    return base;
                }
                int end = h.indexOf(']', i);
                String[] shapes = {"[]", "[0]", "[4]", "[0,4]", "[4,0]", "[4,4,1,1]", "[1,1,1,1,1]", "[9999999,1]",
                    "[2147483648,1]", "[4,320,3,3]"};
                String s = shapes[r.nextInt(shapes.length)];
                nh = h.substring(0, i + 8) + s + h.substring(end + 1);
                what.append("shape at ").append(i).append(" -> ").append(s);
            }
            default -> { // the dtype of one tensor
                int i = h.indexOf("\"dtype\":\"", r.nextInt(Math.max(1, h.length() - 20)));
                if (i < 0) {
                    i = h.indexOf("\"dtype\":\"");
                }
                if (i < 0) {
                    what.append("no field");
                    return base;
                }
                int end = h.indexOf('"', i + 9);
                String[] dtypes = {"F64", "F32", "F16", "BF16", "I64", "I8", "U8", "BOOL"};
                String d = dtypes[r.nextInt(dtypes.length)];
                nh = h.substring(0, i + 9) + d + h.substring(end);
                what.append("dtype at ").append(i).append(" -> ").append(d);
            }
        }
        int headerEnd = (int) (8 + n);
        return SafeTensorsFuzzTest.rebuild(base, headerEnd, nh, false);
    }

    static void checkIndex(LoraFile f) {
        for (LoraFile.Module m : f.modules()) {
            assertTrue(m.rank() > 0, m.module());
            assertEquals(m.aShape()[0], m.bShape()[1], m.module());
            assertTrue(m.aShape().length == 2 || m.aShape().length == 4, m.module());
            assertTrue(Double.isFinite(m.scale()) || m.alpha() != null, m.module());
        }
    }

    @Test
    void mutatedLorasIndexConsistentlyOrFailWithTheProjectsExceptions(@TempDir Path tmp) throws IOException {
        Path dir = SafeTensorsFuzzTest.scratch(tmp);
        try {
            fuzz(dir);
        } finally {
            SafeTensorsFuzzTest.deleteScratch(dir);
        }
    }

    private static void fuzz(Path dir) throws IOException {
        List<byte[]> seeds = new ArrayList<>();
        for (String s : SEEDS) {
            Path small = subset(LoraKeyMapTest.DIR.resolve(s), dir.resolve("seed-" + s), MODULES);
            LoraFile f = LoraFile.read(small, map); // the seeds themselves are valid
            checkIndex(f);
            assertEquals(MODULES, f.modules().size());
            seeds.add(Files.readAllBytes(small));
        }
        SplittableRandom r = new SplittableRandom(SEED);
        Map<String, Integer> outcomes = new TreeMap<>();
        for (int i = 0; i < FILES; i++) {
            StringBuilder what = new StringBuilder(SEEDS.get(i % SEEDS.size())).append(": ");
            byte[] base = seeds.get(i % seeds.size());
            byte[] m = r.nextBoolean() ? mutateKeys(base, r, what) : SafeTensorsFuzzTest.mutate(base, r, what);
            Path p = Files.write(dir.resolve("lora-" + i + ".safetensors"), m);
            try {
                checkIndex(LoraFile.read(p, map));
                outcomes.merge("read", 1, Integer::sum);
            } catch (Throwable t) {
                if (!SafeTensorsFuzzTest.isProjectException(t)) {
                    fail("file " + i + " (seed " + SEED + ", " + what + "): " + t, t);
                }
                outcomes.merge(t.getClass().getSimpleName(), 1, Integer::sum);
                assertTrue(t.getMessage() != null && t.getMessage().contains(p.getFileName().toString()),
                        "file " + i + " (" + what + "): the message names the file: " + t.getMessage());
            }
        }
        assertEquals(FILES, outcomes.values().stream().mapToInt(Integer::intValue).sum());
        assertTrue(outcomes.getOrDefault("read", 0) > 0 && outcomes.size() >= 3,
                "mutations both pass and fail, through both readers' exceptions: " + outcomes);
    }
}
