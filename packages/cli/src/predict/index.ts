export { rocAuc, scoreModel, type Scores } from './score';
