package metrics

// MergeNeural concatenates the per-neuron metrics of several reports (for
// example one per recording session) and recomputes the selection and the
// means over all of them.
func MergeNeural(reports []NeuralReport, sel NeuronSelection) (NeuralReport, error) {
	var m NeuralReport
	for _, r := range reports {
		m.SingleTrialCorrelation = append(m.SingleTrialCorrelation, r.SingleTrialCorrelation...)
		m.AverageCorrelation = append(m.AverageCorrelation, r.AverageCorrelation...)
		m.FEV = append(m.FEV, r.FEV...)
		m.FEVe = append(m.FEVe, r.FEVe...)
		m.OracleCorrelation = append(m.OracleCorrelation, r.OracleCorrelation...)
		m.ConservativeOracleCorrelation = append(m.ConservativeOracleCorrelation, r.ConservativeOracleCorrelation...)
	}
	if err := m.summarize(sel); err != nil {
		return NeuralReport{}, err
	}
	return m, nil
}
