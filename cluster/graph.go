package cluster

import (
	"fmt"

	"github.com/cotrain/cotrain/experiment"
)

// Stages splits the plan into layers of its dependency graph: stage 0
// holds the jobs that need no other job, and a job is in the stage after
// the latest stage of the jobs it needs. Every job of a stage can run at
// once when the stages before it are done. Indices are into p.Jobs, in
// plan order within a stage.
func Stages(p *experiment.Plan) ([][]int, error) {
	deps := p.Deps()
	layer := make([]int, len(p.Jobs))
	var stages [][]int
	for i := range p.Jobs {
		for _, d := range deps[i] {
			if d >= i {
				return nil, fmt.Errorf("plan job %d (%s) needs job %d (%s), which comes after it", i+1, p.Jobs[i].Name, d+1, p.Jobs[d].Name)
			}
			layer[i] = max(layer[i], layer[d]+1)
		}
		for len(stages) <= layer[i] {
			stages = append(stages, nil)
		}
		stages[layer[i]] = append(stages[layer[i]], i)
	}
	return stages, nil
}
