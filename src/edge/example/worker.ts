/** The example Worker: the chatbot wrapped by the analytics client. */
import { exampleWorker } from './app';

export default exampleWorker();
