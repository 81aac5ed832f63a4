package io.lcmlora.train.loop;

import java.nio.file.Path;

/** Test helper run in a child JVM: locks the folder args[0], prints "locked", then waits to be killed. */
public final class RunLockChild {
    public static void main(String[] args) throws Exception {
        RunLock lock = RunLock.acquire(Path.of(args[0]), "RunLockChild", System.out);
        System.out.println("locked " + lock.file());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
