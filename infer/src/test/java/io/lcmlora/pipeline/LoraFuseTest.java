package io.lcmlora.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.lora.Adapters;
import io.lcmlora.lora.LoraComponent;
import io.lcmlora.lora.LoraFile;
import io.lcmlora.lora.LoraFuse;
import io.lcmlora.lora.LoraKeyMap;
import io.lcmlora.model.unet.UNet2DConditionModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** lcm lora fuse: the fused folder's UNet equals the base UNet with the adapter applied at runtime. */
class LoraFuseTest {
    static final Path GOLDEN = Path.of(System.getProperty("golden.dir"));

    static NDArray forward(UNet2DConditionModel unet, SafeTensorsFile c, NDManager m) throws Exception {
        return unet.forward(new UNet2DConditionModel.Inputs(c.load("b_sample", m), new double[] {c.longs("b_timestep")[0]},
                c.load("b_encoder_hidden_states", m), c.load("b_text_embeds", m), c.load("b_time_ids", m)));
    }

    @Test
    void fusedFolderMatchesRuntimeAdapterAndKeepsTheRest(@TempDir Path tmp) throws Exception {
        Path model = TinySdxlFolder.create(tmp);
        Path lora = GOLDEN.resolve("lora_formats/lora_kohya_alpha_half.safetensors");
        Path out = tmp.resolve("fused");
        Map<String, Integer> n = LoraFuse.fuse(model, List.of(new LoraFuse.Spec(lora, 0.8)), out, null);
        assertEquals(258, n.get("unet"));
        assertEquals(0, n.get("text_encoder"));
        try (NDManager m = NDManager.newBaseManager();
                SafeTensorsFile cases = SafeTensorsFile.open(GOLDEN.resolve("unet/cases.safetensors"))) {
            UNet2DConditionModel base = UNet2DConditionModel.load(model.resolve("unet"), null, m, DataType.FLOAT32);
            Adapters a = new Adapters(LoraComponent.UNET, base.layers());
            a.load(LoraFile.load(lora, LoraKeyMap.of(base), m, DataType.FLOAT32), "style", 0.8);
            NDArray want = forward(base, cases, m);
            UNet2DConditionModel fused = UNet2DConditionModel.load(out.resolve("unet"), null, m, DataType.FLOAT32);
            double err = forward(fused, cases, m).sub(want).abs().max().getFloat();
            assertTrue(err <= 1e-4, "fused vs runtime adapter max abs " + err);
        }
        try (SafeTensorsFile a = SafeTensorsFile.open(model.resolve("text_encoder/model.safetensors"));
                SafeTensorsFile b = SafeTensorsFile.open(out.resolve("text_encoder/model.safetensors"))) {
            assertEquals(a.tensors().keySet(), b.tensors().keySet());
            for (String k : a.tensors().keySet()) {
                assertEquals(a.bytes(k), b.bytes(k), k);
            }
        }
        assertTrue(Files.isRegularFile(out.resolve("vae/diffusion_pytorch_model.safetensors")));
        assertTrue(Files.isRegularFile(out.resolve("model_index.json")));
        try (SdxlModel reloaded = SdxlModel.load(out, LoadOptions.cpu()); SdxlModel source = SdxlModel.load(model, LoadOptions.cpu())) {
            assertEquals(source.unet().parameterCount(), reloaded.unet().parameterCount());
        }
        var e = assertThrows(java.io.IOException.class, () -> LoraFuse.fuse(model, List.of(new LoraFuse.Spec(lora, 1)), out, null));
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
    }
}
