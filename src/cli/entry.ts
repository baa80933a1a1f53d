// Process entry: bin/pgshift.js and the tests start here.
import { main } from './main.js';

void main(process.argv.slice(2));
