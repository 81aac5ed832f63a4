package io.lcmlora.singlefile;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lcmlora.io.ConfigJson;
import io.lcmlora.schedule.SchedulerConfig;
import org.junit.jupiter.api.Test;

class BundledSchedulerTest {
    /** The fields the golden README quotes for SDXL base 1.0's scheduler_config.json, and the preset they make. */
    @Test
    void bundledFileIsSdxlBase() {
        ConfigJson c = BundledScheduler.json();
        assertEquals("EulerDiscreteScheduler", c.getString("_class_name"));
        assertEquals(0.00085, c.getDouble("beta_start"));
        assertEquals(0.012, c.getDouble("beta_end"));
        assertEquals("scaled_linear", c.getString("beta_schedule"));
        assertEquals(1000, c.getInt("num_train_timesteps"));
        assertEquals("epsilon", c.getString("prediction_type"));
        assertEquals(false, c.getBool("set_alpha_to_one", true));
        assertEquals(1, c.getInt("steps_offset"));
        assertEquals("leading", c.getString("timestep_spacing"));
        assertEquals(SchedulerConfig.sdxl(), BundledScheduler.sdxl());
    }
}
