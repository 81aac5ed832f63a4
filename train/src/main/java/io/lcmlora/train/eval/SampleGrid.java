package io.lcmlora.train.eval;

import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.List;

/**
 * A setting's sample grid: one column per prompt, one row per seed, every image scaled to fit a {@code cell x cell}
 * square, under a title line; the column header is the prompt index and text.
 */
public final class SampleGrid {
    static final int GAP = 4;
    static final int TITLE = 28;
    static final int HEADER = 18;

    private SampleGrid() {}

    /** {@code rows.get(r).get(c)} is the image of seed r, prompt c; {@code columnLabels} head the columns. */
    public static BufferedImage draw(String title, List<String> columnLabels, List<List<BufferedImage>> rows, int cell) {
        return draw(title, columnLabels, List.of(), 0, rows, cell);
    }

    /**
     * As {@link #draw(String, List, List, int)}, with {@code rowLabels} (one per row, or none) written in a left margin
     * {@code labelWidth} pixels wide.
     */
    public static BufferedImage draw(String title, List<String> columnLabels, List<String> rowLabels, int labelWidth,
            List<List<BufferedImage>> rows, int cell) {
        int cols = columnLabels.size();
        if (cols == 0 || rows.isEmpty()) {
            throw new IllegalArgumentException("a grid needs at least one row and one column");
        }
        if (!rowLabels.isEmpty() && rowLabels.size() != rows.size()) {
            throw new IllegalArgumentException(rowLabels.size() + " row labels for " + rows.size() + " rows");
        }
        int left = rowLabels.isEmpty() ? 0 : labelWidth;
        int width = left + GAP + cols * (cell + GAP);
        int height = TITLE + HEADER + rows.size() * (cell + GAP) + GAP;
        BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
            g.drawString(fit(g.getFontMetrics(), title, width - 2 * GAP), GAP, TITLE - 9);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            for (int c = 0; c < cols; c++) {
                g.drawString(fit(g.getFontMetrics(), columnLabels.get(c), cell), left + GAP + c * (cell + GAP),
                        TITLE + HEADER - 5);
            }
            for (int r = 0; r < rowLabels.size(); r++) {
                g.drawString(fit(g.getFontMetrics(), rowLabels.get(r), left - GAP), GAP,
                        TITLE + HEADER + r * (cell + GAP) + cell / 2 + 4);
            }
            for (int r = 0; r < rows.size(); r++) {
                List<BufferedImage> row = rows.get(r);
                for (int c = 0; c < Math.min(cols, row.size()); c++) {
                    BufferedImage img = row.get(c);
                    if (img == null) {
                        continue;
                    }
                    double scale = (double) cell / Math.max(img.getWidth(), img.getHeight());
                    int w = Math.max(1, (int) Math.round(img.getWidth() * scale));
                    int h = Math.max(1, (int) Math.round(img.getHeight() * scale));
                    int x = left + GAP + c * (cell + GAP) + (cell - w) / 2;
                    int y = TITLE + HEADER + r * (cell + GAP) + (cell - h) / 2;
                    // small images are enlarged with visible pixels, large ones shrunk without aliasing
                    g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, scale >= 1
                            ? RenderingHints.VALUE_INTERPOLATION_NEAREST_NEIGHBOR : RenderingHints.VALUE_INTERPOLATION_BICUBIC);
                    g.drawImage(shrink(img, w, h), x, y, w, h, null);
                }
            }
        } finally {
            g.dispose();
        }
        return out;
    }

    /**
     * Halves the image (bilinear, so every source pixel counts) until it is within 2x of {@code w x h}: a single
     * bicubic draw from 1024 to 192 pixels would skip most pixels and alias.
     */
    static BufferedImage shrink(BufferedImage img, int w, int h) {
        BufferedImage cur = img;
        while (cur.getWidth() / 2 >= w && cur.getHeight() / 2 >= h) {
            BufferedImage half = new BufferedImage(cur.getWidth() / 2, cur.getHeight() / 2, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = half.createGraphics();
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.drawImage(cur, 0, 0, half.getWidth(), half.getHeight(), null);
            g.dispose();
            cur = half;
        }
        return cur;
    }

    /** {@code text}, cut with an ellipsis to fit {@code width} pixels. */
    static String fit(FontMetrics fm, String text, int width) {
        if (fm.stringWidth(text) <= width) {
            return text;
        }
        String s = text;
        while (!s.isEmpty() && fm.stringWidth(s + "...") > width) {
            s = s.substring(0, s.length() - 1);
        }
        return s + "...";
    }
}
