package io.lcmlora.train.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lcmlora.io.SafeTensorsFile;
import io.lcmlora.pipeline.GenerationRequest;
import io.lcmlora.pipeline.LoadOptions;
import io.lcmlora.pipeline.SdxlModel;
import io.lcmlora.pipeline.SdxlPipeline;
import io.lcmlora.schedule.SchedulerKind;
import io.lcmlora.train.distill.OneEngineThread;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The committed demo teachers (data/demo-weights) load as SDXL folders and sample through the pipeline. */
@ExtendWith(OneEngineThread.class)
class ShippedTeachersTest {
    static final Path WEIGHTS = Path.of(System.getProperty("golden.dir")).getParent().getParent().resolve("data/demo-weights");

    @Test
    void bothTeachersLoadAndSample() throws Exception {
        for (String name : new String[] {"teacher-twitter", "teacher-google"}) {
            try (SdxlModel model = SdxlModel.load(WEIGHTS.resolve(name), LoadOptions.cpu());
                    SdxlPipeline pipe = new SdxlPipeline(model)) {
                assertEquals(4_808_148, model.unet().parameterCount(), name);
                assertEquals(4, model.vaeScaleFactor());
                assertEquals(1000, model.textEncoder().config().vocabSize());
                assertTrue(model.forceZerosForEmptyPrompt());
                BufferedImage img = pipe.generate(GenerationRequest.of("red heart, smileys and emotion, emotion")
                        .withScheduler(SchedulerKind.DDIM, null).withSteps(2).withGuidance(5)).get(0).image();
                assertEquals(32, img.getWidth());
                assertEquals(32, img.getHeight());
            }
        }
    }

    /** The fine-tune changed the UNet and nothing else (parts equal: both are fp16 copies of the same weights). */
    @Test
    void googleTeacherDiffersOnlyInItsUnet() throws Exception {
        assertEquals(floats("teacher-twitter/vae/diffusion_pytorch_model.safetensors", "decoder.conv_out.weight"),
                floats("teacher-google/vae/diffusion_pytorch_model.safetensors", "decoder.conv_out.weight"));
        assertEquals(floats("teacher-twitter/text_encoder_2/model.safetensors", "text_projection.weight"),
                floats("teacher-google/text_encoder_2/model.safetensors", "text_projection.weight"));
        assertNotEquals(floats("teacher-twitter/unet/diffusion_pytorch_model.safetensors", "conv_in.weight"),
                floats("teacher-google/unet/diffusion_pytorch_model.safetensors", "conv_in.weight"));
    }

    private static String floats(String file, String tensor) throws Exception {
        try (SafeTensorsFile f = SafeTensorsFile.open(WEIGHTS.resolve(file))) {
            return Arrays.toString(f.floats(tensor));
        }
    }
}
