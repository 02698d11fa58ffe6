package bench

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// The chart's size; bitmaps are drawn at plotDPI, 1260 px wide.
const (
	plotWidth  = 16 * vg.Centimeter
	plotHeight = 10 * vg.Centimeter
	plotDPI    = 200
)

// plotFormats are the extensions Plot writes.
var plotFormats = []string{".svg", ".pdf", ".eps", ".png", ".jpg", ".jpeg", ".tif", ".tiff"}

// CheckPlotPath reports whether Plot can write path: a known extension, in
// a directory that exists and takes new files. A benchmark checks it
// before its runs rather than failing after them.
func CheckPlotPath(path string) error {
	ext := strings.ToLower(filepath.Ext(path))
	if !slices.Contains(plotFormats, ext) {
		return fmt.Errorf("%s: unknown chart format %q (use one of %s)", path, ext, strings.Join(plotFormats, " "))
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".netfox-plot-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// Plot draws throughput against connection count (the median, with
// whiskers from the slowest to the fastest run) and saves it to path; the
// extension picks the format (.svg, .png, .pdf, ...). The recommended
// count has a marker and a label of its own; the axes leave room around
// the points, and the legend sits above the highest whisker.
func Plot(rep Report, path string) error {
	if err := CheckPlotPath(path); err != nil {
		return err
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("netfox bench: %s", rep.URL)
	p.X.Label.Text = "connections"
	p.Y.Label.Text = "MiB/s (median, min-max)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = countTicks(rep.Summaries)
	p.Add(plotter.NewGrid())

	pts := errPoints{XYs: make(plotter.XYs, len(rep.Summaries)), YErrors: make(plotter.YErrors, len(rep.Summaries))}
	var top float64
	var rec plotter.XYs
	for i, s := range rep.Summaries {
		pts.XYs[i] = plotter.XY{X: float64(s.Connections), Y: s.Median}
		pts.YErrors[i].Low, pts.YErrors[i].High = s.Median-s.Min, s.Max-s.Median
		top = max(top, s.Max)
		if s.Connections == rep.Recommended {
			rec = append(rec, pts.XYs[i])
		}
	}
	line, points, err := plotter.NewLinePoints(pts)
	if err != nil {
		return err
	}
	bars, err := plotter.NewYErrorBars(pts)
	if err != nil {
		return err
	}
	p.Add(line, points, bars)
	p.Legend.Add("median per count", points)
	if len(rec) > 0 {
		mark, err := plotter.NewScatter(rec)
		if err != nil {
			return err
		}
		mark.GlyphStyle = draw.GlyphStyle{Shape: draw.PyramidGlyph{}, Radius: vg.Points(6), Color: color.RGBA{R: 200, G: 30, B: 30, A: 255}}
		labels, err := plotter.NewLabels(plotter.XYLabels{XYs: rec, Labels: []string{fmt.Sprintf("  recommended: -n %d", rep.Recommended)}})
		if err != nil {
			return err
		}
		labels.Offset = vg.Point{X: vg.Points(8), Y: vg.Points(4)}
		p.Add(mark, labels)
		p.Legend.Add(fmt.Sprintf("recommended: %d connections", rep.Recommended), mark)
	}
	// Room around the points: a factor of 1.5 either side on the log axis,
	// so that no tick label is cut; above the highest whisker a third
	// more, where the legend goes, clear of the data.
	if len(rep.Summaries) > 0 {
		lo, hi := rep.Summaries[0].Connections, rep.Summaries[0].Connections
		for _, s := range rep.Summaries {
			lo, hi = min(lo, s.Connections), max(hi, s.Connections)
		}
		p.X.Min, p.X.Max = float64(lo)/1.5, float64(hi)*1.5
	}
	p.Y.Min = 0
	p.Y.Max = max(top, 1e-3) * 1.35
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Points(6)
	p.Legend.YOffs = -vg.Points(4)

	switch strings.ToLower(filepath.Ext(path)) {
	case ".png", ".jpg", ".jpeg", ".tif", ".tiff":
		return saveBitmap(p, path)
	}
	return p.Save(plotWidth, plotHeight, path)
}

// saveBitmap draws p at plotDPI: gonum's Save draws bitmaps at 96 dpi,
// 605 px wide for this size.
func saveBitmap(p *plot.Plot, path string) error {
	c := vgimg.NewWith(vgimg.UseWH(plotWidth, plotHeight), vgimg.UseDPI(plotDPI))
	p.Draw(draw.New(c))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		_, err = vgimg.PngCanvas{Canvas: c}.WriteTo(f)
	case ".jpg", ".jpeg":
		_, err = vgimg.JpegCanvas{Canvas: c}.WriteTo(f)
	default:
		_, err = vgimg.TiffCanvas{Canvas: c}.WriteTo(f)
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	return err
}

// errPoints are medians with their min-max spread.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// countTicks labels exactly the counts measured on the log axis.
func countTicks(sums []Summary) plot.ConstantTicks {
	ticks := make(plot.ConstantTicks, 0, len(sums))
	for _, s := range sums {
		ticks = append(ticks, plot.Tick{Value: float64(s.Connections), Label: fmt.Sprint(s.Connections)})
	}
	if len(ticks) == 0 {
		ticks = append(ticks, plot.Tick{Value: 1, Label: "1"})
	}
	return ticks
}
