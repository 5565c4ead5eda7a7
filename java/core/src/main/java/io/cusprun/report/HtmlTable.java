package io.cusprun.report;

import java.util.Locale;

/**
 * A {@link ResultsTable} as an HTML table (the report's): the text of {@link MarkdownTable}'s
 * cells, a marked cell in bold, and a metric compared with a reference titled with its difference
 * and standard error.
 */
public final class HtmlTable {
    private HtmlTable() {}

    public static String render(ResultsTable table) {
        StringBuilder t = new StringBuilder("<table>\n<tr>");
        for (ResultsTable.Column c : table.columns()) {
            t.append("<th>").append(ReportWriter.esc(c.heading())).append("</th>");
        }
        t.append("</tr>\n");
        for (ResultsTable.Row r : table.rows()) {
            t.append("<tr>");
            for (int i = 0; i < table.columns().size(); i++) {
                t.append(cell(table.columns().get(i), r.cells().get(i)));
            }
            t.append("</tr>\n");
        }
        return t.append("</table>\n").toString();
    }

    private static String cell(ResultsTable.Column c, ResultsTable.Cell cell) {
        RepeatedRow.Difference d = cell.difference();
        if (c.kind() != ResultsTable.Kind.METRIC || d == null || !Double.isFinite(d.mean())) {
            return "<td>" + ReportWriter.esc(MarkdownTable.cell(c, cell)) + "</td>";
        }
        String v = ReportWriter.esc(cell.text("–"));
        String title = String.format(Locale.ROOT, "difference to the reference %+.3f, SE %.3f", d.mean(), d.se());
        return cell.marked()
                ? "<td title=\"" + title + "\"><b>" + v + " " + RepeatedTable.MARK + "</b></td>"
                : "<td title=\"" + title + "\">" + v + "</td>";
    }
}
