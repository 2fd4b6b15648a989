export { loadModelFile, validateModelFile } from './model-load';
export { rocAuc, scoreModel, type Scores } from './score';
