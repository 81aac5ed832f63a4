package io.lcmlora.train.parallel;

/**
 * Shard {@code index} of {@code count} (0-based, as ranks are) of a list of work units: unit u belongs to shard
 * {@code u mod count}. Any number of shards can run on any machines at once; together they cover every unit exactly
 * once, and a shard always owns the same units.
 */
public record Shard(int index, int count) {
    public Shard {
        if (count < 1 || index < 0 || index >= count) {
            throw new IllegalArgumentException("a shard is i/N with 0 <= i < N (0-based), got " + index + "/" + count);
        }
    }

    /** Everything: one shard. */
    public static Shard all() {
        return new Shard(0, 1);
    }

    /** The shard of this rank of {@code world}. */
    public static Shard of(World world) {
        return new Shard(world.rank(), world.size());
    }

    /** Parses {@code i/N}, e.g. {@code 0/4}; the error names the option. */
    public static Shard parse(String text) {
        String[] parts = text == null ? new String[0] : text.trim().split("/", -1);
        try {
            if (parts.length == 2) {
                return new Shard(Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()));
            }
        } catch (NumberFormatException e) {
            // below
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--shard " + text + ": " + e.getMessage(), e);
        }
        throw new IllegalArgumentException("--shard expects i/N with 0 <= i < N (0-based), e.g. --shard 0/4; got '" + text + "'");
    }

    public boolean isAll() {
        return count == 1;
    }

    public boolean owns(long unit) {
        return Math.floorMod(unit, count) == index;
    }

    @Override
    public String toString() {
        return index + "/" + count;
    }
}
