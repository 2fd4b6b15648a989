export { logit, marginsOf, rocAuc, scoreModel, scoresOf, sigmoid, type Scores } from './score';
export { formatOfPath, predictStream, type PredictionFormat, type PredictSummary } from './stream';
