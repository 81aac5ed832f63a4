package io.lcmlora.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.lcmlora.io.ConfigJson;
import io.lcmlora.io.DType;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.SafeTensorsWriter;
import io.lcmlora.io.TensorInfo;
import io.lcmlora.sgm.SgmUnetNames;
import io.lcmlora.lora.LoraKeyMap.Role;
import io.lcmlora.lora.LoraKeyMap.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Key conventions against the golden lora_formats files and module_names.json (no tensor math). */
class LoraKeyMapTest {
    static final Path GOLDEN = Path.of(System.getProperty("golden.dir"));
    static final Path DIR = GOLDEN.resolve("lora_formats");
    static List<String> modules;
    static Map<String, String> kohya;
    static Map<String, String> kohyaSgm;
    static LoraKeyMap map;

    static final List<String> TE_MODULES = List.of("text_model.encoder.layers.0.self_attn.q_proj",
            "text_model.encoder.layers.0.self_attn.k_proj", "text_model.encoder.layers.0.self_attn.out_proj",
            "text_model.encoder.layers.0.mlp.fc1", "text_model.encoder.layers.1.mlp.fc2");

    @BeforeAll
    static void setUp() throws IOException {
        JsonObject names = JsonParser.parseString(Files.readString(DIR.resolve("module_names.json"))).getAsJsonObject();
        modules = new ArrayList<>();
        names.getAsJsonArray("modules").forEach(e -> modules.add(e.getAsString()));
        kohya = new LinkedHashMap<>();
        names.getAsJsonObject("kohya").entrySet().forEach(e -> kohya.put(e.getKey(), e.getValue().getAsString()));
        kohyaSgm = new LinkedHashMap<>();
        names.getAsJsonObject("kohya_sgm").entrySet().forEach(e -> kohyaSgm.put(e.getKey(), e.getValue().getAsString()));
        map = LoraKeyMap.of(Map.of(LoraComponent.UNET, modules, LoraComponent.TEXT_ENCODER, TE_MODULES,
                LoraComponent.TEXT_ENCODER_2, TE_MODULES), goldenSgm());
    }

    static SgmUnetNames goldenSgm() throws IOException {
        ConfigJson c = ConfigJson.read(GOLDEN.resolve("unet/config.json"));
        return new SgmUnetNames(c.getInt("layers_per_block"), List.of(c.getStrings("up_block_types")));
    }

    @Test
    void kohyaStemsOfEveryModuleMatchTheReference() {
        assertEquals(258, modules.size());
        for (String m : modules) {
            assertEquals(kohya.get(m), LoraKeyMap.kohyaStem(LoraComponent.UNET, m), m);
            assertEquals(kohyaSgm.get(m) + ".lora_down.weight", map.keysFor(LoraFormat.KOHYA_SGM, LoraComponent.UNET, m).a(), m);
        }
    }

    /** ComfyUI-saved keys are the reference kohya SGM stems spelled with dots under diffusion_model., alpha optional. */
    @Test
    void comfyUiSavedKeysResolveThroughTheSgmLayout() {
        for (String m : modules) {
            String sgm = kohyaSgm.get(m).substring("lora_unet_".length()); // input_blocks_4_1_... (reference)
            String up = map.keysFor(LoraFormat.COMFYUI, LoraComponent.UNET, m).b();
            assertTrue(up.startsWith("diffusion_model.") && up.endsWith(".lora_up.weight"), up);
            String path = up.substring("diffusion_model.".length(), up.length() - ".lora_up.weight".length());
            assertEquals(sgm, path.replace('.', '_'), m);
            LoraKeyMap.Target t = map.resolve(up);
            assertEquals(new LoraKeyMap.Target(LoraComponent.UNET, m, LoraKeyMap.Role.B, LoraFormat.COMFYUI), t, up);
            assertEquals(LoraKeyMap.Role.A, map.resolve("diffusion_model." + path + ".lora_down.weight").role());
            assertEquals(LoraKeyMap.Role.ALPHA, map.resolve("diffusion_model." + path + ".alpha").role());
            // LyCORIS roles in both UNet spellings (kohya SGM stem, ComfyUI dotted): LoCon Tucker core, bias difference
            assertEquals(new LoraKeyMap.Target(LoraComponent.UNET, m, LoraKeyMap.Role.MID, LoraFormat.COMFYUI),
                    map.resolve("diffusion_model." + path + ".lora_mid.weight"));
            assertEquals(new LoraKeyMap.Target(LoraComponent.UNET, m, LoraKeyMap.Role.DIFF_B, LoraFormat.KOHYA_SGM),
                    map.resolve(kohyaSgm.get(m) + ".diff_b"));
        }
        assertEquals(null, map.resolve("diffusion_model.no_such_block.0.lora_up.weight"));
        assertEquals(LoraFormat.COMFYUI, LoraFormat.detect(Set.of("diffusion_model.input_blocks.4.1.proj_in.lora_up.weight",
                "diffusion_model.input_blocks.4.1.proj_in.lora_down.weight"), "f"));
    }

    @Test
    void keysForIsTheInverseOfResolveInEveryFormat() {
        for (LoraFormat f : LoraFormat.values()) {
            for (String m : modules) {
                LoraKeyMap.Keys k = map.keysFor(f, LoraComponent.UNET, m);
                assertEquals(new Target(LoraComponent.UNET, m, Role.A, f), map.resolve(k.a()));
                assertEquals(new Target(LoraComponent.UNET, m, Role.B, f), map.resolve(k.b()));
                if (f.isKohya()) {
                    assertEquals(new Target(LoraComponent.UNET, m, Role.ALPHA, f), map.resolve(k.alpha()));
                } else {
                    assertNull(k.alpha());
                }
            }
        }
    }

    @Test
    void everyGoldenFileResolvesToThe258Modules() throws IOException {
        Map<String, LoraFormat> files = Map.of("lora_peft.safetensors", LoraFormat.PEFT,
                "lora_diffusers_legacy.safetensors", LoraFormat.DIFFUSERS_LEGACY,
                "lora_kohya.safetensors", LoraFormat.KOHYA_DIFFUSERS,
                "lora_kohya_sgm.safetensors", LoraFormat.KOHYA_SGM,
                "lora_kohya_alpha_half.safetensors", LoraFormat.KOHYA_DIFFUSERS);
        for (Map.Entry<String, LoraFormat> e : files.entrySet()) {
            Path p = DIR.resolve(e.getKey());
            LoraFile f = LoraFile.read(p, map);
            assertEquals(e.getValue(), f.format(), e.getKey());
            assertEquals(new HashSet<>(modules), new HashSet<>(f.modules().stream().map(LoraFile.Module::module).toList()));
            Double alpha = switch (e.getKey()) {
                case "lora_kohya.safetensors", "lora_kohya_sgm.safetensors" -> 2.0;
                case "lora_kohya_alpha_half.safetensors" -> 1.0;
                default -> null;
            };
            long weights = 0;
            try (SafeTensorsFile sf = SafeTensorsFile.open(p)) {
                for (TensorInfo t : sf.tensors().values()) {
                    weights += t.name().endsWith(".alpha") ? 0 : t.numel();
                }
            }
            assertEquals(weights, f.parameterCount(), e.getKey());
            for (LoraFile.Module m : f.modules()) {
                assertEquals(LoraComponent.UNET, m.component());
                assertEquals(2, m.rank());
                assertEquals(alpha, m.alpha(), m.module());
                assertEquals(m.module().endsWith("conv1") || m.module().endsWith("conv2") || m.module().endsWith("conv")
                        || m.module().endsWith("conv_shortcut"), m.conv(), m.module());
            }
        }
    }

    @Test
    void rawPeftAndLegacyProcessorSpellings() {
        String conv = "down_blocks.0.resnets.0.conv1";
        assertEquals(new Target(LoraComponent.UNET, conv, Role.A, LoraFormat.PEFT),
                map.resolve("base_model.model." + conv + ".lora_A.default.weight"));
        assertEquals(new Target(LoraComponent.UNET, conv, Role.B, LoraFormat.PEFT),
                map.resolve("unet.base_model.model." + conv + ".lora_B.my_style.weight"));
        String attn = "down_blocks.1.attentions.0.transformer_blocks.0.attn1";
        assertEquals(new Target(LoraComponent.UNET, attn + ".to_out.0", Role.B, LoraFormat.DIFFUSERS_LEGACY),
                map.resolve("unet." + attn + ".processor.to_out_lora.up.weight"));
        assertEquals(new Target(LoraComponent.UNET, attn + ".to_q", Role.A, LoraFormat.DIFFUSERS_LEGACY),
                map.resolve("unet." + attn + ".processor.to_q_lora.down.weight"));
        assertEquals(new Target(LoraComponent.UNET, conv, Role.ALPHA, null), map.resolve("unet." + conv + ".alpha"));
        assertNull(map.resolve("unet." + conv + ".lora_A.bias"));
        assertNull(map.resolve("unet.down_blocks.0.resnets.0.norm1.lora_A.weight"));
    }

    @Test
    void textEncoderKeys() {
        String q = "text_model.encoder.layers.0.self_attn.q_proj";
        String fc1 = "text_model.encoder.layers.0.mlp.fc1";
        assertEquals(new Target(LoraComponent.TEXT_ENCODER, q, Role.A, LoraFormat.KOHYA_DIFFUSERS),
                map.resolve("lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight"));
        assertEquals(new Target(LoraComponent.TEXT_ENCODER, q, Role.B, LoraFormat.KOHYA_DIFFUSERS),
                map.resolve("lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight"));
        assertEquals(new Target(LoraComponent.TEXT_ENCODER_2, fc1, Role.ALPHA, LoraFormat.KOHYA_DIFFUSERS),
                map.resolve("lora_te2_text_model_encoder_layers_0_mlp_fc1.alpha"));
        assertEquals(new Target(LoraComponent.TEXT_ENCODER, q, Role.A, LoraFormat.PEFT),
                map.resolve("text_encoder." + q + ".lora_A.weight"));
        assertEquals(new Target(LoraComponent.TEXT_ENCODER_2, fc1, Role.B, LoraFormat.DIFFUSERS_LEGACY),
                map.resolve("text_encoder_2." + fc1 + ".lora_linear_layer.up.weight"));
        assertEquals(new Target(LoraComponent.TEXT_ENCODER, "text_model.encoder.layers.0.self_attn.k_proj", Role.A,
                LoraFormat.DIFFUSERS_LEGACY), map.resolve("text_encoder.text_model.encoder.layers.0.self_attn.to_k_lora.down.weight"));
        assertEquals(new Target(LoraComponent.TEXT_ENCODER, "text_model.encoder.layers.0.self_attn.out_proj", Role.B,
                LoraFormat.DIFFUSERS_LEGACY), map.resolve("text_encoder.text_model.encoder.layers.0.self_attn.to_out_lora.up.weight"));
        assertEquals("lora_te2_text_model_encoder_layers_1_mlp_fc2.alpha",
                map.keysFor(LoraFormat.KOHYA_SGM, LoraComponent.TEXT_ENCODER_2, "text_model.encoder.layers.1.mlp.fc2").alpha());
        assertNull(map.resolve("lora_te1_text_model_encoder_layers_7_mlp_fc1.alpha"));
        // LyCORIS and bias-difference keys of the text encoders
        assertEquals(new Target(LoraComponent.TEXT_ENCODER, q, Role.HADA_W1_A, LoraFormat.KOHYA_DIFFUSERS),
                map.resolve("lora_te1_text_model_encoder_layers_0_self_attn_q_proj.hada_w1_a"));
        assertEquals(new Target(LoraComponent.TEXT_ENCODER_2, fc1, Role.LOKR_W2_B, LoraFormat.KOHYA_DIFFUSERS),
                map.resolve("lora_te2_text_model_encoder_layers_0_mlp_fc1.lokr_w2_b"));
        assertEquals(new Target(LoraComponent.TEXT_ENCODER_2, fc1, Role.DIFF_B, LoraFormat.KOHYA_DIFFUSERS),
                map.resolve("lora_te2_text_model_encoder_layers_0_mlp_fc1.diff_b"));
        assertEquals(new Target(LoraComponent.TEXT_ENCODER, q, Role.DIFF, LoraFormat.KOHYA_DIFFUSERS),
                map.resolve("lora_te1_text_model_encoder_layers_0_self_attn_q_proj.diff"));
    }

    @Test
    void sgmLayoutFollowsTheConfig() {
        SgmUnetNames one = new SgmUnetNames(1, List.of("CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D"));
        assertEquals("input_blocks.2.0.op", one.toSgm("down_blocks.0.downsamplers.0.conv"));
        assertEquals("input_blocks.3.1.proj_in", one.toSgm("down_blocks.1.attentions.0.proj_in"));
        assertEquals("output_blocks.1.2.conv", one.toSgm("up_blocks.0.upsamplers.0.conv"));
        assertEquals("output_blocks.3.1.conv", one.toSgm("up_blocks.1.upsamplers.0.conv"));
        assertEquals("output_blocks.3.0.skip_connection", one.toSgm("up_blocks.1.resnets.1.conv_shortcut"));
        assertEquals("middle_block.2.emb_layers.1", one.toSgm("mid_block.resnets.1.time_emb_proj"));
        assertEquals("label_emb.0.2", one.toSgm("add_embedding.linear_2"));
        assertNull(one.toSgm("mid_block.resnets.2.conv1"));
        assertNull(one.toSgm("something.else"));
    }

    @TempDir
    Path tmp;

    @Test
    void unmatchedKeysAreListedInOneErrorWithTheFileName() throws IOException {
        Path bad = tmp.resolve("bad_lora.safetensors");
        SafeTensorsWriter w = new SafeTensorsWriter();
        String stem = "lora_unet_down_blocks_0_resnets_0_conv1";
        w.addFloats(stem + ".lora_down.weight", new long[] {2, 16, 3, 3}, new float[2 * 16 * 9], DType.F32);
        w.addFloats(stem + ".lora_up.weight", new long[] {16, 2, 1, 1}, new float[32], DType.F32);
        w.addFloats("lora_unet_down_blocks_9_resnets_0_conv1.lora_down.weight", new long[] {2, 4}, new float[8], DType.F32);
        w.addFloats("lora_unet_down_blocks_0_resnets_0_norm1.lora_up.weight", new long[] {4, 2}, new float[8], DType.F32);
        w.write(bad);
        LoraException e = assertThrows(LoraException.class, () -> LoraFile.read(bad, map));
        assertTrue(e.getMessage().contains("bad_lora.safetensors"), e.getMessage());
        assertTrue(e.getMessage().contains("2 of 4 key(s)"), e.getMessage());
        assertTrue(e.getMessage().contains("lora_unet_down_blocks_9_resnets_0_conv1.lora_down.weight"), e.getMessage());
        assertTrue(e.getMessage().contains("lora_unet_down_blocks_0_resnets_0_norm1.lora_up.weight"), e.getMessage());
    }

    @Test
    void halfPairsAndBadShapesAreErrors() throws IOException {
        Path half = tmp.resolve("half.safetensors");
        new SafeTensorsWriter().addFloats("unet.down_blocks.0.resnets.0.conv1.lora_A.weight", new long[] {2, 16, 3, 3},
                new float[288], DType.F32).write(half);
        assertTrue(assertThrows(LoraException.class, () -> LoraFile.read(half, map)).getMessage().contains("no B (up)"));
        Path shapes = tmp.resolve("shapes.safetensors");
        new SafeTensorsWriter()
                .addFloats("unet.down_blocks.0.resnets.0.time_emb_proj.lora_A.weight", new long[] {2, 64}, new float[128], DType.F32)
                .addFloats("unet.down_blocks.0.resnets.0.time_emb_proj.lora_B.weight", new long[] {16, 3}, new float[48], DType.F32)
                .write(shapes);
        assertTrue(assertThrows(LoraException.class, () -> LoraFile.read(shapes, map)).getMessage().contains("not a LoRA pair"));
        Path mid = tmp.resolve("tucker.safetensors");
        new SafeTensorsWriter().addFloats("lora_unet_down_blocks_0_resnets_0_conv1.lora_mid.weight", new long[] {2, 2, 3, 3},
                new float[36], DType.F32).addFloats("lora_unet_down_blocks_0_resnets_0_conv1.alpha", new long[] {}, new float[] {2},
                DType.F32).write(mid);
        assertTrue(assertThrows(LoraException.class, () -> LoraFile.read(mid, map)).getMessage().contains("no A (down)"));
        // a ComfyUI adapter kind this reader does not apply: one error naming the key and the kinds it reads
        Path set = tmp.resolve("set_weight.safetensors");
        new SafeTensorsWriter().addFloats("lora_unet_down_blocks_0_resnets_0_conv1.set_weight", new long[] {2, 2},
                new float[4], DType.F32).write(set);
        String msg = assertThrows(LoraException.class, () -> LoraFile.read(set, map)).getMessage();
        assertTrue(msg.contains("not supported") && msg.contains("lora_unet_down_blocks_0_resnets_0_conv1.set_weight"), msg);
    }

    @Test
    void formatDetectionFromKeysAlone() {
        assertEquals(LoraFormat.KOHYA_SGM, LoraFormat.detect(Set.of("lora_te1_x.alpha", "lora_unet_middle_block_1_proj_in.alpha"), "f"));
        assertEquals(LoraFormat.KOHYA_DIFFUSERS, LoraFormat.detect(Set.of("lora_te2_x.lora_up.weight"), "f"));
        assertEquals(LoraFormat.PEFT, LoraFormat.detect(Set.of("base_model.model.a.lora_A.default.weight"), "f"));
        assertEquals(LoraFormat.DIFFUSERS_LEGACY, LoraFormat.detect(Set.of("unet.a.processor.to_q_lora.down.weight"), "f"));
        assertThrows(LoraException.class, () -> LoraFormat.detect(Set.of("conv_in.weight"), "model.safetensors"));
    }
}
