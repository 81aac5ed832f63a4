package io.lcmlora.sgm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.io.TensorInfo;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The VAE name map against the golden pair: vae/ (diffusers names) and single_file/ (first_stage_model.*). */
class SgmVaeNamesTest {
    static final Path GOLDEN = Path.of(System.getProperty("golden.dir"));

    @Test
    void everyDiffusersKeyMapsOntoTheSingleFileWithItsBytes() throws IOException {
        SgmVaeNames names = new SgmVaeNames(3);
        int reshaped = 0;
        try (SafeTensorsFile vae = SafeTensorsFile.open(GOLDEN.resolve("vae/diffusion_pytorch_model.safetensors"));
                SafeTensorsFile single = SafeTensorsFile.open(GOLDEN.resolve("single_file/model.safetensors"))) {
            Set<String> hit = new HashSet<>();
            for (TensorInfo t : vae.tensors().values()) {
                String sgm = names.toSgmKey(t.name());
                assertNotNull(sgm, t.name());
                TensorInfo s = single.info("first_stage_model." + sgm);
                assertTrue(hit.add(s.name()), "two keys map to " + s.name());
                if (SgmVaeNames.isAttentionProjectionWeight(t.name())) {
                    reshaped++;
                    long[] want = Arrays.copyOf(t.shape(), 4);
                    want[2] = 1;
                    want[3] = 1;
                    assertEquals(Arrays.toString(want), Arrays.toString(s.shape()), s.name());
                } else {
                    assertEquals(Arrays.toString(t.shape()), Arrays.toString(s.shape()), s.name());
                }
                assertEquals(vae.bytes(t.name()), single.bytes(s.name()), t.name() + " -> " + s.name() + " values");
            }
            assertEquals(200, hit.size());
            assertEquals(8, reshaped, "q/k/v/proj_out of the encoder and decoder mid attention");
        }
    }

    @Test
    void decoderLevelsAreNumberedInReverseAndShortcutsRenamed() {
        SgmVaeNames four = new SgmVaeNames(4);
        assertEquals("decoder.up.3.block.0.conv1.weight", four.toSgmKey("decoder.up_blocks.0.resnets.0.conv1.weight"));
        assertEquals("decoder.up.0.block.2.nin_shortcut.bias", four.toSgmKey("decoder.up_blocks.3.resnets.2.conv_shortcut.bias"));
        assertEquals("decoder.up.1.upsample.conv.weight", four.toSgmKey("decoder.up_blocks.2.upsamplers.0.conv.weight"));
        assertEquals("encoder.down.3.block.1.norm2.weight", four.toSgmKey("encoder.down_blocks.3.resnets.1.norm2.weight"));
        assertEquals("encoder.mid.attn_1.proj_out.weight", four.toSgmKey("encoder.mid_block.attentions.0.to_out.0.weight"));
        assertEquals("decoder.mid.block_2.conv2.bias", four.toSgmKey("decoder.mid_block.resnets.1.conv2.bias"));
        assertEquals("decoder.norm_out.weight", four.toSgmKey("decoder.conv_norm_out.weight"));
        assertEquals("post_quant_conv.weight", four.toSgmKey("post_quant_conv.weight"));
        assertTrue(SgmVaeNames.isAttentionProjectionWeight("decoder.mid_block.attentions.0.to_q.weight"));
        assertFalse(SgmVaeNames.isAttentionProjectionWeight("decoder.mid_block.attentions.0.to_q.bias"));
        assertNull(four.toSgmKey("decoder.up_blocks.4.resnets.0.conv1.weight"));
        assertNull(four.toSgmKey("decoder.mid_block.resnets.2.conv1.weight"));
        assertNull(four.toSgmKey("encoder.down_blocks.0.downsamplers.1.conv.weight"));
    }
}
