// The shared guest pass page (/g/{id}) works without JavaScript; this only shows the validity
// times in the reader's local time zone and language.
import { localizeTimes } from './page.js';

localizeTimes(document, document.documentElement.lang || 'ja');
