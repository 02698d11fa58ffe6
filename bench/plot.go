package bench

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Plot draws throughput against connection count (the median, with
// whiskers from the slowest to the fastest run) and saves it to path; the
// extension picks the format (.svg, .png, .pdf).
func Plot(rep Report, path string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("netfox bench: %s", rep.URL)
	p.X.Label.Text = "connections"
	p.Y.Label.Text = "MiB/s (median, min-max)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = countTicks(rep.Summaries)
	p.Add(plotter.NewGrid())

	pts := errPoints{XYs: make(plotter.XYs, len(rep.Summaries)), YErrors: make(plotter.YErrors, len(rep.Summaries))}
	for i, s := range rep.Summaries {
		pts.XYs[i] = plotter.XY{X: float64(s.Connections), Y: s.Median}
		pts.YErrors[i].Low, pts.YErrors[i].High = s.Median-s.Min, s.Max-s.Median
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
	p.Y.Min = 0
	if rep.Recommended > 0 {
		p.Legend.Add(fmt.Sprintf("recommended: %d connections", rep.Recommended), points)
		p.Legend.Top = true
		p.Legend.Left = true
	}
	return p.Save(16*vg.Centimeter, 10*vg.Centimeter, path)
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
