package io.lcmlora.train.eval;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.geom.Line2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * The FID-against-steps line plot, drawn with Java2D: one line (with markers) per family, x = sampling steps on a
 * log2 axis (ticks at the step counts present), y = FID on a linear axis from 0, labelled axes and a legend.
 */
public final class FidPlot {
    static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728),
        new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f), new Color(0xbcbd22),
        new Color(0x17becf)};

    /** One line: its legend label and its points (steps, FID), drawn in steps order. */
    public record Series(String label, List<double[]> points) {
        public Series {
            points = points.stream().sorted((a, b) -> Double.compare(a[0], b[0])).toList();
        }
    }

    private FidPlot() {}

    public static BufferedImage draw(String title, List<Series> series, int width, int height) {
        TreeSet<Double> xs = new TreeSet<>();
        double maxY = 0;
        for (Series s : series) {
            for (double[] p : s.points()) {
                if (!(p[0] > 0) || !Double.isFinite(p[1])) {
                    throw new IllegalArgumentException("plot point of '" + s.label() + "' must have steps > 0 and a finite "
                            + "FID, got (" + p[0] + ", " + p[1] + ")");
                }
                xs.add(p[0]);
                maxY = Math.max(maxY, p[1]);
            }
        }
        if (xs.isEmpty()) {
            throw new IllegalArgumentException("nothing to plot");
        }
        double yTop = niceCeil(maxY * 1.05);
        double yStep = niceStep(yTop / 5);
        double lx0 = log2(xs.first());
        double lx1 = log2(xs.last());
        if (lx1 - lx0 < 1e-9) {
            lx0 -= 1;
            lx1 += 1;
        }
        double pad = (lx1 - lx0) * 0.06;
        double xMin = lx0 - pad;
        double xMax = lx1 + pad;

        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            Font small = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
            Font label = new Font(Font.SANS_SERIF, Font.PLAIN, 14);
            Font bold = new Font(Font.SANS_SERIF, Font.BOLD, 16);
            int left = 70;
            int right = 20;
            int top = 40;
            int bottom = 60;
            int pw = width - left - right;
            int ph = height - top - bottom;
            // grid and ticks
            g.setFont(small);
            FontMetrics fm = g.getFontMetrics();
            for (double y = 0; y <= yTop + 1e-9 * yTop; y += yStep) {
                int py = top + ph - (int) Math.round(y / yTop * ph);
                g.setColor(new Color(0xE0E0E0));
                g.drawLine(left, py, left + pw, py);
                g.setColor(Color.BLACK);
                String t = tick(y);
                g.drawString(t, left - 6 - fm.stringWidth(t), py + fm.getAscent() / 2 - 1);
            }
            for (double x : xs) {
                int px = left + (int) Math.round((log2(x) - xMin) / (xMax - xMin) * pw);
                g.setColor(new Color(0xE0E0E0));
                g.drawLine(px, top, px, top + ph);
                g.setColor(Color.BLACK);
                String t = tick(x);
                g.drawString(t, px - fm.stringWidth(t) / 2, top + ph + fm.getAscent() + 4);
            }
            g.setColor(Color.BLACK);
            g.drawRect(left, top, pw, ph);
            // titles
            g.setFont(bold);
            fm = g.getFontMetrics();
            g.drawString(title, left + (pw - fm.stringWidth(title)) / 2, top - 14);
            g.setFont(label);
            fm = g.getFontMetrics();
            String xl = "sampling steps (log scale)";
            g.drawString(xl, left + (pw - fm.stringWidth(xl)) / 2, height - 14);
            AffineTransform saved = g.getTransform();
            g.rotate(-Math.PI / 2);
            String yl = "FID (lower is better)";
            g.drawString(yl, -(top + (ph + fm.stringWidth(yl)) / 2), 20);
            g.setTransform(saved);
            // lines
            g.setStroke(new BasicStroke(2f));
            for (int i = 0; i < series.size(); i++) {
                g.setColor(PALETTE[i % PALETTE.length]);
                List<int[]> pts = new ArrayList<>();
                for (double[] p : series.get(i).points()) {
                    pts.add(new int[] {left + (int) Math.round((log2(p[0]) - xMin) / (xMax - xMin) * pw),
                        top + ph - (int) Math.round(p[1] / yTop * ph)});
                }
                for (int j = 1; j < pts.size(); j++) {
                    g.draw(new Line2D.Double(pts.get(j - 1)[0], pts.get(j - 1)[1], pts.get(j)[0], pts.get(j)[1]));
                }
                for (int[] p : pts) {
                    g.fillOval(p[0] - 4, p[1] - 4, 8, 8);
                }
            }
            legend(g, series, left + pw - 8, top + 8, small);
        } finally {
            g.dispose();
        }
        return img;
    }

    private static void legend(Graphics2D g, List<Series> series, int rightEdge, int y0, Font font) {
        g.setFont(font);
        FontMetrics fm = g.getFontMetrics();
        int w = 0;
        for (Series s : series) {
            w = Math.max(w, fm.stringWidth(s.label()));
        }
        int row = fm.getHeight() + 2;
        int boxW = w + 40;
        int boxH = series.size() * row + 8;
        int x0 = rightEdge - boxW;
        g.setColor(new Color(255, 255, 255, 230));
        g.fill(new Rectangle2D.Double(x0, y0, boxW, boxH));
        g.setColor(Color.GRAY);
        g.setStroke(new BasicStroke(1f));
        g.drawRect(x0, y0, boxW, boxH);
        for (int i = 0; i < series.size(); i++) {
            int cy = y0 + 4 + i * row + row / 2;
            g.setColor(PALETTE[i % PALETTE.length]);
            g.setStroke(new BasicStroke(2f));
            g.drawLine(x0 + 6, cy, x0 + 26, cy);
            g.fillOval(x0 + 12, cy - 4, 8, 8);
            g.setColor(Color.BLACK);
            g.drawString(series.get(i).label(), x0 + 32, cy + fm.getAscent() / 2 - 1);
        }
    }

    static double log2(double v) {
        return Math.log(v) / Math.log(2);
    }

    /** The smallest 1, 2, 2.5 or 5 times a power of ten that is >= v (1 for v <= 0). */
    static double niceCeil(double v) {
        if (!(v > 0)) {
            return 1;
        }
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : new double[] {1, 2, 2.5, 5, 10}) {
            if (m * p >= v * (1 - 1e-12)) {
                return m * p;
            }
        }
        return 10 * p;
    }

    static double niceStep(double v) {
        return niceCeil(v);
    }

    /** A tick label: six significant digits at most, no trailing zeros (0.6, 2.5, 40). */
    static String tick(double v) {
        if (v == 0) {
            return "0";
        }
        return new BigDecimal(v).round(new MathContext(6)).stripTrailingZeros().toPlainString();
    }
}
