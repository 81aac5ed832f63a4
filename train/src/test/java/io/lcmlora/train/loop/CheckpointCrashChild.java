package io.lcmlora.train.loop;

import com.google.gson.JsonObject;
import io.lcmlora.io.AtomicFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/** Test helper run in a child JVM: writes checkpoints as fast as it can until it is killed. Args: root keepLast. */
public final class CheckpointCrashChild {
    static final int PAYLOAD = 3 << 20;

    public static void main(String[] args) throws Exception {
        Checkpoints cps = new Checkpoints(Path.of(args[0]), Integer.parseInt(args[1]));
        long step = cps.latest().map(p -> Checkpoints.stepOf(p)).orElse(0L);
        cps.removeStale();
        while (true) {
            step++;
            long s = step;
            Map<String, AtomicFiles.Body> files = new LinkedHashMap<>();
            files.put("lora.safetensors", os -> os.write(payload(s)));
            files.put("config.yaml", os -> os.write(("step: " + s + "\n").getBytes(StandardCharsets.UTF_8)));
            JsonObject state = new JsonObject();
            state.addProperty("payload_byte", (int) (s % 251));
            cps.saveFiles(s, files, state);
            System.out.println(s);
            System.out.flush();
        }
    }

    static byte[] payload(long step) {
        byte[] b = new byte[PAYLOAD];
        Arrays.fill(b, (byte) (step % 251));
        return b;
    }
}
