package io.lcmlora.singlefile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lcmlora.io.DType;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import io.lcmlora.io.TensorInfo;
import io.lcmlora.singlefile.SingleFileCheckpoint.Kind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checkpoints that must be refused, each with a message naming what is wrong. */
class SingleFileMalformedTest {
    static final Path FILE = Path.of(System.getProperty("golden.dir"), "single_file/model.safetensors");

    @TempDir
    Path tmp;

    /** The golden file without the keys {@code drop} accepts, plus {@code extra} F32 tensors of the given shapes. */
    Path rewrite(String name, Predicate<String> drop, Map<String, long[]> extra) throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter();
        try (SafeTensorsFile f = SafeTensorsFile.open(FILE)) {
            for (TensorInfo t : f.tensors().values()) {
                if (!drop.test(t.name())) {
                    w.add(t.name(), t.dtype(), t.shape(), f.bytes(t.name()));
                }
            }
        }
        for (Map.Entry<String, long[]> e : extra.entrySet()) {
            long n = 1;
            for (long d : e.getValue()) {
                n *= d;
            }
            w.add(e.getKey(), DType.F32, e.getValue(), ByteBuffer.allocate((int) n * 4).order(ByteOrder.LITTLE_ENDIAN));
        }
        Path out = tmp.resolve(name);
        w.write(out);
        return out;
    }

    static String message(Class<? extends Throwable> type, org.junit.jupiter.api.function.Executable run) {
        String msg = assertThrows(type, run).getMessage();
        System.out.println("refused: " + msg);
        return msg;
    }

    @Test
    void missingPrefixIsNamed() throws IOException {
        Path p = rewrite("no_te1.safetensors", k -> k.startsWith("conditioner.embedders.0."), Map.of());
        try (SingleFileCheckpoint c = SingleFileCheckpoint.open(p)) {
            assertEquals(3, c.components().size());
            String msg = message(SingleFileException.class, c::requireComplete);
            assertTrue(msg.contains("no tensor under conditioner.embedders.0.transformer.* (text_encoder)"), msg);
            msg = message(SingleFileException.class, () -> c.plan(Component.TEXT_ENCODER, SingleFileConfigs.tiny()));
            assertTrue(msg.contains("no tensor under conditioner.embedders.0.transformer."), msg);
            assertEquals(620, c.plan(Component.UNET, SingleFileConfigs.tiny()).size(), "the UNet alone still loads");
        }
    }

    @Test
    void missingParameterAndUnknownKeysAreListed() throws IOException {
        Path p = rewrite("edited.safetensors", k -> k.equals("model.diffusion_model.out.2.bias"),
                Map.of("model.diffusion_model.extra_head.weight", new long[] {4, 4},
                        "conditioner.embedders.1.model.visual.proj", new long[] {2, 2}));
        try (SingleFileCheckpoint c = SingleFileCheckpoint.open(p)) {
            String msg = message(SingleFileException.class, () -> c.plan(Component.UNET, SingleFileConfigs.tiny()));
            assertTrue(msg.contains("1 parameter(s) missing from the file: model.diffusion_model.out.2.bias (for conv_out.bias)"), msg);
            assertTrue(msg.contains("1 tensor(s) in the file that match no parameter: model.diffusion_model.extra_head.weight"), msg);
            msg = message(SingleFileException.class, () -> c.plan(Component.TEXT_ENCODER_2, SingleFileConfigs.tiny()));
            assertTrue(msg.contains("match no parameter: conditioner.embedders.1.model.visual.proj"), msg);
        }
    }

    @Test
    void ignorableKeysAreOptionalAndOtherPrefixesAreNotRead() throws IOException {
        Path p = rewrite("lean.safetensors", k -> k.endsWith("position_ids") || k.endsWith("logit_scale"),
                Map.of("model_ema.decay", new long[] {}));
        try (SingleFileCheckpoint c = SingleFileCheckpoint.open(p)) {
            assertEquals(84, c.plan(Component.TEXT_ENCODER, SingleFileConfigs.tiny()).size());
            assertEquals(69, c.plan(Component.TEXT_ENCODER_2, SingleFileConfigs.tiny()).size());
            assertEquals(java.util.List.of("model_ema.decay"), c.otherKeys());
        }
    }

    @Test
    void wrongShapeIsNamedWithBothShapes() throws IOException {
        Path p = rewrite("bad_proj.safetensors", k -> k.equals("conditioner.embedders.1.model.text_projection"),
                Map.of("conditioner.embedders.1.model.text_projection", new long[] {32, 16}));
        try (SingleFileCheckpoint c = SingleFileCheckpoint.open(p)) {
            String msg = message(SingleFileException.class, () -> c.plan(Component.TEXT_ENCODER_2, SingleFileConfigs.tiny()));
            assertTrue(msg.contains("conditioner.embedders.1.model.text_projection has shape [32, 16], the text_encoder_2 expects "
                    + "[32, 32] (stored transposed) (for text_projection.weight)"), msg);
            assertTrue(msg.contains("does not match the tiny preset"), msg);
        }
    }

    @Test
    void otherLayoutsAreRecognisedAndRefused() throws IOException {
        assertEquals(Kind.SD1, SingleFileCheckpoint.detect(Set.of("model.diffusion_model.input_blocks.0.0.weight",
                "cond_stage_model.transformer.text_model.final_layer_norm.weight")));
        assertEquals(Kind.SD2, SingleFileCheckpoint.detect(Set.of("model.diffusion_model.input_blocks.0.0.weight",
                "cond_stage_model.model.ln_final.weight")));
        assertEquals(Kind.SDXL_REFINER, SingleFileCheckpoint.detect(Set.of("model.diffusion_model.input_blocks.0.0.weight",
                "conditioner.embedders.0.model.ln_final.weight", "first_stage_model.decoder.conv_in.weight")));
        assertEquals(Kind.LORA, SingleFileCheckpoint.detect(Set.of("lora_unet_down_blocks_0_resnets_0_conv1.lora_down.weight")));
        assertEquals(Kind.LORA, SingleFileCheckpoint.detect(Set.of("unet.conv_in.lora_A.weight")));
        assertEquals(Kind.DIFFUSERS_COMPONENT, SingleFileCheckpoint.detect(Set.of("conv_in.weight", "down_blocks.0.resnets.0.conv1.weight")));
        assertEquals(Kind.UNKNOWN, SingleFileCheckpoint.detect(Set.of("fc.weight")));
        assertEquals(Kind.SDXL_BASE, SingleFileCheckpoint.detect(Set.of("model.diffusion_model.out.2.bias")));

        Path refiner = rewrite("refiner.safetensors", k -> k.startsWith("conditioner."),
                Map.of("conditioner.embedders.0.model.ln_final.weight", new long[] {4}));
        String msg = message(SingleFileException.class, () -> SingleFileCheckpoint.open(refiner));
        assertTrue(msg.contains("unsupported checkpoint: an SDXL refiner checkpoint"), msg);
        assertTrue(msg.contains("only SDXL base single files are supported"), msg);

        Path ckpt = tmp.resolve("model.ckpt");
        Files.write(ckpt, new byte[] {(byte) 0x80, 2});
        msg = message(SingleFileException.class, () -> SingleFileCheckpoint.open(ckpt));
        assertTrue(msg.contains("pickle checkpoints are never loaded"), msg);
    }
}
