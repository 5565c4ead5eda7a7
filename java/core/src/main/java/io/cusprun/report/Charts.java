package io.cusprun.report;

import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.SymbolAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.LookupPaintScale;
import org.jfree.chart.renderer.category.StatisticalBarRenderer;
import org.jfree.chart.renderer.xy.XYBlockRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.PaintScaleLegend;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.data.statistics.DefaultStatisticalCategoryDataset;
import org.jfree.data.xy.DefaultXYZDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** The report's PNG charts, drawn with JFreeChart (headless). */
final class Charts {
    static final int WIDTH = 720;
    static final int HEIGHT = 420;

    private Charts() {}

    /** Kept fraction per layer, one line per module. */
    static void keptFraction(Map<String, double[]> perModule, Path png) throws IOException {
        XYSeriesCollection data = new XYSeriesCollection();
        for (Map.Entry<String, double[]> e : perModule.entrySet()) {
            XYSeries s = new XYSeries(e.getKey());
            double[] v = e.getValue();
            for (int layer = 0; layer < v.length; layer++) {
                s.add(layer, v[layer]);
            }
            data.addSeries(s);
        }
        JFreeChart chart = org.jfree.chart.ChartFactory.createXYLineChart(
                "Kept fraction per layer",
                "layer",
                "kept fraction",
                data,
                PlotOrientation.VERTICAL,
                true,
                false,
                false);
        XYPlot plot = chart.getXYPlot();
        plot.setRenderer(new XYLineAndShapeRenderer(true, true));
        ((NumberAxis) plot.getRangeAxis()).setRange(0.0, 1.05);
        ((NumberAxis) plot.getDomainAxis()).setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        style(chart);
        ChartUtils.saveChartAsPNG(png.toFile(), chart, WIDTH, HEIGHT);
    }

    /** Heatmap of pairwise overlaps (0..1) between irrelevant-neuron sets. */
    static void overlapHeatmap(List<String> labels, double[][] overlap, Path png) throws IOException {
        int n = labels.size();
        double[] xs = new double[n * n];
        double[] ys = new double[n * n];
        double[] zs = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                xs[i * n + j] = j;
                ys[i * n + j] = i;
                zs[i * n + j] = overlap[i][j];
            }
        }
        DefaultXYZDataset data = new DefaultXYZDataset();
        data.addSeries("overlap", new double[][] {xs, ys, zs});
        String[] names = labels.toArray(new String[0]);
        SymbolAxis xAxis = new SymbolAxis(null, names);
        xAxis.setVerticalTickLabels(true);
        SymbolAxis yAxis = new SymbolAxis(null, names);
        XYBlockRenderer renderer = new XYBlockRenderer();
        LookupPaintScale scale = new LookupPaintScale(0.0, 1.0001, Color.WHITE);
        for (int step = 0; step <= 20; step++) {
            double v = step / 20.0;
            // white (no overlap) to deep blue (identical sets)
            scale.add(v, new Color((int) (255 * (1 - v)), (int) (255 * (1 - 0.7 * v)), 255));
        }
        renderer.setPaintScale(scale);
        XYPlot plot = new XYPlot(data, xAxis, yAxis, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        JFreeChart chart = new JFreeChart("Overlap of irrelevant-neuron sets (Jaccard)", plot);
        chart.removeLegend();
        NumberAxis legendAxis = new NumberAxis("Jaccard");
        legendAxis.setRange(0.0, 1.0);
        PaintScaleLegend legend = new PaintScaleLegend(scale, legendAxis);
        legend.setPosition(RectangleEdge.RIGHT);
        legend.setMargin(8, 8, 8, 8);
        chart.addSubtitle(legend);
        style(chart);
        int size = Math.max(420, 60 * n + 160);
        ChartUtils.saveChartAsPNG(png.toFile(), chart, size + 120, size);
    }

    /** One line per method: a metric against the requested ratio. */
    static void qualityVsRatio(
            String title,
            String yLabel,
            List<ComparisonRow> rows,
            ComparisonRow baseline,
            ToDoubleFunction<ComparisonRow> metric,
            Path png)
            throws IOException {
        Map<String, XYSeries> byMethod = new LinkedHashMap<>();
        for (ComparisonRow r : rows) {
            double y = metric.applyAsDouble(r);
            if (Double.isFinite(y)) {
                XYSeries s = byMethod.computeIfAbsent(r.method(), m -> new XYSeries(m, true, false));
                if (baseline != null && s.getItemCount() == 0 && Double.isFinite(metric.applyAsDouble(baseline))) {
                    s.add(0.0, metric.applyAsDouble(baseline));
                }
                s.add(r.requestedRatio(), y);
            }
        }
        XYSeriesCollection data = new XYSeriesCollection();
        byMethod.values().forEach(data::addSeries);
        JFreeChart chart = org.jfree.chart.ChartFactory.createXYLineChart(
                title,
                "pruned fraction of block parameters",
                yLabel,
                data,
                PlotOrientation.VERTICAL,
                true,
                false,
                false);
        XYPlot plot = chart.getXYPlot();
        plot.setRenderer(new XYLineAndShapeRenderer(true, true));
        ((NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(false);
        style(chart);
        ChartUtils.saveChartAsPNG(png.toFile(), chart, WIDTH, HEIGHT);
    }

    /**
     * The dimension study: how much each subset's expert raises the expert and the general
     * perplexity over the unpruned model, in percent (bars, ± one standard deviation over the
     * repeats); the raw perplexities when there is no unpruned row.
     */
    static void dimensionStudy(List<RepeatedRow> cells, ComparisonRow baseline, Path png) throws IOException {
        DefaultStatisticalCategoryDataset data = new DefaultStatisticalCategoryDataset();
        boolean relative = baseline != null
                && Double.isFinite(baseline.expertPerplexity())
                && Double.isFinite(baseline.generalPerplexity());
        for (RepeatedRow c : cells) {
            add(
                    data,
                    c,
                    ComparisonRow::expertPerplexity,
                    relative ? baseline.expertPerplexity() : 0,
                    "expert held-out");
            add(
                    data,
                    c,
                    ComparisonRow::generalPerplexity,
                    relative ? baseline.generalPerplexity() : 0,
                    "general held-out");
        }
        CategoryAxis x = new CategoryAxis("dimensions scored");
        x.setCategoryLabelPositions(CategoryLabelPositions.UP_45);
        NumberAxis y = new NumberAxis(
                relative ? "perplexity increase over the unpruned model (%)" : "perplexity (lower is better)");
        y.setAutoRangeIncludesZero(relative);
        StatisticalBarRenderer bars = new StatisticalBarRenderer();
        bars.setErrorIndicatorPaint(Color.BLACK);
        bars.setDrawBarOutline(false);
        bars.setShadowVisible(false);
        bars.setBarPainter(new org.jfree.chart.renderer.category.StandardBarPainter());
        CategoryPlot plot = new CategoryPlot(data, x, y, bars);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(new Color(220, 220, 220));
        JFreeChart chart = new JFreeChart(
                String.format(
                        Locale.ROOT,
                        "Dimension study at %.0f%% (lower is better)",
                        cells.get(0).requestedRatio() * 100),
                JFreeChart.DEFAULT_TITLE_FONT,
                plot,
                true);
        style(chart);
        ChartUtils.saveChartAsPNG(png.toFile(), chart, WIDTH, HEIGHT + 80);
    }

    /** A cell's mean and sd; relative to {@code base} in percent when base is not 0. */
    private static void add(
            DefaultStatisticalCategoryDataset data,
            RepeatedRow c,
            ToDoubleFunction<ComparisonRow> metric,
            double base,
            String series) {
        double mean = c.mean(metric);
        double sd = c.sd(metric);
        if (base != 0) {
            data.add(100 * (mean / base - 1), 100 * sd / base, series, c.label());
        } else {
            data.add(mean, sd, series, c.label());
        }
    }

    private static void style(JFreeChart chart) {
        chart.setBackgroundPaint(Color.WHITE);
        chart.getTitle().setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        if (chart.getPlot() instanceof XYPlot p) {
            p.setBackgroundPaint(Color.WHITE);
            p.setDomainGridlinePaint(new Color(220, 220, 220));
            p.setRangeGridlinePaint(new Color(220, 220, 220));
        }
    }
}
