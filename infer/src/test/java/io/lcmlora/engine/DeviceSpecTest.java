package io.lcmlora.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import org.junit.jupiter.api.Test;

class DeviceSpecTest {
    @Test
    void parsesEveryFormAndPrintsTheCanonicalOne() {
        assertEquals(new DeviceSpec(DeviceSpec.Kind.AUTO, 0), DeviceSpec.parse("auto"));
        assertEquals(new DeviceSpec(DeviceSpec.Kind.CPU, 0), DeviceSpec.parse(" CPU "));
        assertEquals(new DeviceSpec(DeviceSpec.Kind.GPU, 0), DeviceSpec.parse("cuda"));
        assertEquals(new DeviceSpec(DeviceSpec.Kind.GPU, 3), DeviceSpec.parse("gpu:3"));
        assertEquals(new DeviceSpec(DeviceSpec.Kind.GPU, 1), DeviceSpec.parse("cuda:1"));
        assertEquals("gpu:3", DeviceSpec.parse("cuda:3").toString());
        assertEquals("gpu", DeviceSpec.parse("gpu:0").toString());
        for (String bad : new String[] {"tpu", "gpu:", "gpu:-1", "gpu:x", "cpu:1", "gpu:99999", ""}) {
            var e = assertThrows(IllegalArgumentException.class, () -> DeviceSpec.parse(bad), bad);
            assertTrue(e.getMessage().contains("auto, cpu, gpu or gpu:N"), e.getMessage());
        }
    }

    @Test
    void autoPicksTheFirstGpuWhenOneIsVisible() {
        assertEquals(Device.cpu(), DeviceSpec.parse("auto").resolve(0));
        assertEquals(Device.gpu(0), DeviceSpec.parse("auto").resolve(2));
        assertEquals(Device.cpu(), DeviceSpec.parse("cpu").resolve(2));
        assertEquals(Device.gpu(1), DeviceSpec.parse("gpu:1").resolve(2));
        var none = assertThrows(IllegalArgumentException.class, () -> DeviceSpec.parse("gpu").resolve(0));
        assertTrue(none.getMessage().contains("sees no GPU") && none.getMessage().contains("tools/build-jni.sh"),
                none.getMessage());
        var range = assertThrows(IllegalArgumentException.class, () -> DeviceSpec.parse("gpu:2").resolve(2));
        assertTrue(range.getMessage().contains("numbered 0-1"), range.getMessage());
    }
}
