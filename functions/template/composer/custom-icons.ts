// A few objects everyday prompts ask for that the emoji set lacks, drawn in its 32-unit grid and
// flat style so they mix with the emoji icons.
export const CUSTOM_ICONS: Record<string, { body: string; keywords: string[] }> = {
  'chef-hat': {
    keywords: ['chef hat', 'toque', 'cook hat', 'baker hat'],
    body:
      '<path fill="#e6e6e6" d="M8 19h16v8.5a1.5 1.5 0 0 1-1.5 1.5h-13A1.5 1.5 0 0 1 8 27.5z"/>' +
      '<path fill="#d0d0d0" d="M8 24h16v1.6H8z"/>' +
      '<circle cx="10" cy="14" r="5.5" fill="#ffffff"/>' +
      '<circle cx="22" cy="14" r="5.5" fill="#ffffff"/>' +
      '<circle cx="16" cy="9.5" r="6.5" fill="#ffffff"/>' +
      '<path fill="#f2f2f2" d="M6 16.5c2 3 18 3 20 0v3H6z"/>' +
      '<path fill="#dcdcdc" d="M13 12.5c1-2.5 5-2.5 6 0c-1.5-1-4.5-1-6 0"/>',
  },
  leaf: {
    keywords: ['leaf', 'green leaf'],
    body:
      '<path fill="#44911b" d="M3 27C3 14 11 4 29 3c0 15-9 24-22 24c-1.5 0-2.8-.1-4-.3z"/>' +
      '<path fill="#86d72f" d="M6.5 25.5C7 15 13 7.5 26 5.5c-.5 12-8 19.5-19.5 20"/>' +
      '<path fill="#44911b" d="M4.2 28.4c4-7 10-14 19-20.5l.9 1.1C16 15.6 10 22.3 6 29.5z"/>',
  },
  stem: {
    keywords: ['stem', 'stalk', 'twig', 'stick'],
    body: '<path fill="#6d4534" d="M15 30c-.8-6 .2-14 2.6-27.4a1.2 1.2 0 0 1 2.3.5C17.6 16 16.9 23.7 17.4 30z"/>',
  },
  sofa: {
    keywords: ['sofa', 'couch', 'settee', 'loveseat'],
    body:
      '<rect x="5" y="8" width="22" height="12" rx="3" fill="#d9644a"/>' +
      '<rect x="4" y="24.5" width="2.2" height="3.5" rx=".6" fill="#5c3a2e"/>' +
      '<rect x="25.8" y="24.5" width="2.2" height="3.5" rx=".6" fill="#5c3a2e"/>' +
      '<rect x="3" y="19.5" width="26" height="5.5" rx="1.5" fill="#c24f37"/>' +
      '<rect x="6.5" y="16.5" width="9.6" height="4.5" rx="1.5" fill="#f08a6c"/>' +
      '<rect x="15.9" y="16.5" width="9.6" height="4.5" rx="1.5" fill="#f08a6c"/>' +
      '<rect x="1.5" y="13" width="5" height="12" rx="2.5" fill="#e8735a"/>' +
      '<rect x="25.5" y="13" width="5" height="12" rx="2.5" fill="#e8735a"/>',
  },
  table: {
    keywords: ['table', 'desk', 'dining table'],
    body:
      '<path fill="#8c5543" d="M5 17h2.5v13H5zm19.5 0H27v13h-2.5z"/>' +
      '<path fill="#6d4534" d="M7.5 17H10v10H7.5zm14.5 0h2.5v10H22z"/>' +
      '<rect x="2" y="13" width="28" height="4" rx="1" fill="#b97a4d"/>' +
      '<path fill="#a0673e" d="M3 17h26v1.5H3z"/>',
  },
  lighthouse: {
    keywords: ['lighthouse', 'beacon'],
    body:
      '<path fill="#8a8f96" d="M4 30c1-3 5-4.5 12-4.5S27 27 28 30z"/>' +
      '<polygon points="7,5 12,7.6 12,8.6 7,11" fill="#fff3b0"/>' +
      '<polygon points="25,5 20,7.6 20,8.6 25,11" fill="#fff3b0"/>' +
      '<polygon points="11,27 13,11 19,11 21,27" fill="#f7f7f7"/>' +
      '<polygon points="12.5,15 19.5,15 19.9,18.5 12.1,18.5" fill="#e53935"/>' +
      '<polygon points="11.7,22 20.3,22 20.7,25.5 11.3,25.5" fill="#e53935"/>' +
      '<rect x="14.8" y="21" width="2.4" height="6" rx=".4" fill="#6d4534"/>' +
      '<rect x="11" y="9.6" width="10" height="1.6" rx=".4" fill="#37474f"/>' +
      '<rect x="12.5" y="6" width="7" height="3.8" fill="#ffd93b"/>' +
      '<polygon points="11.5,6.2 16,2.5 20.5,6.2" fill="#c62828"/>',
  },
  lamp: {
    keywords: ['lamp', 'floor lamp', 'table lamp', 'lampshade', 'desk lamp'],
    body:
      '<ellipse cx="16" cy="28.8" rx="6" ry="1.4" fill="#5c3a2e"/>' +
      '<rect x="15.1" y="12" width="1.8" height="16.5" fill="#8c5543"/>' +
      '<polygon points="9,13.5 11.5,3 20.5,3 23,13.5" fill="#ffcf5a"/>' +
      '<polygon points="9,13.5 23,13.5 22.6,12 9.4,12" fill="#f0a830"/>' +
      '<ellipse cx="16" cy="14.6" rx="3.4" ry="1" fill="#fff3b0"/>',
  },
  branch: {
    keywords: ['branch', 'tree branch', 'bough', 'perch'],
    body:
      '<path fill="#7a4b34" d="M1 20.5c6-1.6 13-1.8 20-1.2l9-3.3.6 1.4-7.5 3.3c-7.5.6-14.3 1.3-21.6 3z"/>' +
      '<path fill="#7a4b34" d="M12 19.6c1.3-2.6 3.3-4.8 6-6.6l.9 1.1c-2.4 1.6-4.2 3.4-5.3 5.6z"/>' +
      '<path fill="#5da83e" d="M18.5 13.4c-.5-3 1.3-5.6 4.6-6.4.4 3.2-1.4 5.6-4.6 6.4z"/>' +
      '<path fill="#5da83e" d="M26 17c1.6-2.6 4.4-3.4 5.9-2.3-1.3 2.5-3.8 3.3-5.9 2.3z"/>' +
      '<path fill="#4a8f31" d="M6 21.4c-1.8 2.4-1.6 5 .4 6.6 1.7-2.3 1.6-4.9-.4-6.6z"/>',
  },
  vase: {
    keywords: ['vase', 'flower vase', 'urn'],
    body:
      '<path fill="#3f7fc1" d="M11.5 4h9v2.2c0 1.5-1.6 2.7-1.6 4.3 0 1.4 4.6 4 4.6 9.5 0 4.6-2.8 8.5-7.5 8.5s-7.5-3.9-7.5-8.5c0-5.5 4.6-8.1 4.6-9.5 0-1.6-1.6-2.8-1.6-4.3z"/>' +
      '<rect x="10.8" y="3" width="10.4" height="2.2" rx="1" fill="#2f63a8"/>' +
      '<path fill="#7cb8f0" d="M10.6 19.5h10.8c.2.5.3 1 .3 1.5H10.3c0-.5.1-1 .3-1.5z"/>' +
      '<path fill="#9fd0ff" d="M12.5 16c-1.4 1.6-2 3.6-1.6 6 .8-2.2 1.8-3.6 2.8-4.6z"/>',
  },
  cage: {
    keywords: ['cage', 'birdcage', 'bird cage'],
    body:
      '<path fill="none" stroke="#c9a227" stroke-width="1.2" d="M6 27V14c0-5.5 4.5-9.5 10-9.5s10 4 10 9.5v13M10 27V11.5M13 27V7.5M16 27V5M19 27V7.5M22 27V11.5"/>' +
      '<circle cx="16" cy="3.2" r="1.6" fill="none" stroke="#c9a227" stroke-width="1"/>' +
      '<rect x="5" y="13" width="22" height="1.4" rx=".5" fill="#b08d1e"/>' +
      '<rect x="4" y="26.5" width="24" height="3" rx="1" fill="#8c5543"/>',
  },
  'hot-air-balloon': {
    keywords: ['hot air balloon', 'air balloon', 'balloon ride'],
    body:
      '<path fill="#e53935" d="M16 2C9.5 2 5 6.6 5 12.3c0 4.7 3.5 8 7 10.7h8c3.5-2.7 7-6 7-10.7C27 6.6 22.5 2 16 2z"/>' +
      '<path fill="#fdd835" d="M16 2c-3 0-5 4.6-5 10.3 0 4.6 1.2 8 2.6 10.7h4.8c1.4-2.7 2.6-6.1 2.6-10.7C21 6.6 19 2 16 2z"/>' +
      '<path fill="#1e88e5" d="M16 2c-1 0-1.6 4.6-1.6 10.3 0 4.6.4 8 .8 10.7h1.6c.4-2.7.8-6.1.8-10.7C17.6 6.6 17 2 16 2z"/>' +
      '<path fill="none" stroke="#6d4534" stroke-width=".6" d="M12.4 23l1.4 3.6M19.6 23l-1.4 3.6"/>' +
      '<rect x="12.8" y="26.2" width="6.4" height="4.3" rx=".8" fill="#a0673e"/>' +
      '<rect x="12.8" y="26.2" width="6.4" height="1.2" fill="#8c5543"/>',
  },
  'tennis-racket': {
    keywords: ['tennis racket', 'racket', 'racquet', 'tennis racquet'],
    body:
      '<rect x="15" y="18.5" width="2" height="7" fill="#37474f"/>' +
      '<rect x="14.6" y="24" width="2.8" height="6.5" rx="1" fill="#e53935"/>' +
      '<ellipse cx="16" cy="10.5" rx="7.8" ry="9" fill="#1e88e5"/>' +
      '<ellipse cx="16" cy="10.5" rx="6.4" ry="7.6" fill="#e3f2fd"/>' +
      '<path fill="none" stroke="#90a4ae" stroke-width=".5" d="M12 3.6v13.8M14 3.1v14.8M16 2.9v15.2M18 3.1v14.8M20 3.6v13.8M9.9 6.5h12.2M9.6 9h12.8M9.6 11.5h12.8M9.8 14h12.4M10.6 16.5h10.8"/>',
  },
  shelf: {
    keywords: ['shelf', 'bookshelf', 'shelves', 'bookcase'],
    body:
      '<rect x="3" y="3" width="26" height="26" rx="1" fill="#8c5543"/>' +
      '<rect x="5" y="5" width="22" height="10" fill="#6d4534"/>' +
      '<rect x="5" y="17" width="22" height="10" fill="#6d4534"/>' +
      '<rect x="6" y="7" width="3" height="8" fill="#e53935"/>' +
      '<rect x="9.4" y="6" width="2.6" height="9" fill="#1e88e5"/>' +
      '<rect x="12.4" y="8" width="3" height="7" fill="#fdd835"/>' +
      '<polygon points="16.2,15 18.2,7.6 20.6,8.2 18.6,15" fill="#43a047"/>' +
      '<rect x="7" y="20" width="3" height="7" fill="#8e24aa"/>' +
      '<rect x="10.4" y="19" width="2.6" height="8" fill="#fb8c00"/>' +
      '<rect x="20" y="21.5" width="5" height="5.5" rx="1" fill="#b0bec5"/>',
  },
  stove: {
    keywords: ['stove', 'oven', 'cooker', 'range'],
    body:
      '<rect x="4" y="9" width="24" height="20" rx="1.2" fill="#eceff1"/>' +
      '<rect x="4" y="9" width="24" height="4.5" rx="1" fill="#b0bec5"/>' +
      '<circle cx="8.5" cy="11.2" r="1" fill="#37474f"/>' +
      '<circle cx="12.5" cy="11.2" r="1" fill="#37474f"/>' +
      '<circle cx="19.5" cy="11.2" r="1" fill="#37474f"/>' +
      '<circle cx="23.5" cy="11.2" r="1" fill="#37474f"/>' +
      '<rect x="7" y="16" width="18" height="10" rx="1" fill="#455a64"/>' +
      '<rect x="8.5" y="17.5" width="15" height="7" rx=".6" fill="#263238"/>' +
      '<rect x="10" y="14.4" width="12" height="1" rx=".5" fill="#78909c"/>' +
      '<rect x="5" y="6.6" width="10" height="2.4" rx=".6" fill="#37474f"/>' +
      '<rect x="17" y="6.6" width="10" height="2.4" rx=".6" fill="#37474f"/>',
  },
  blanket: {
    keywords: ['blanket', 'quilt', 'duvet', 'throw'],
    body:
      '<path fill="#7e57c2" d="M3 10c4-1.5 9-2 13-1s9 .5 13-1v17c-4 1.5-9 2-13 1s-9-.5-13 1z"/>' +
      '<path fill="#9575cd" d="M3 14c4-1.5 9-2 13-1s9 .5 13-1v4c-4 1.5-9 2-13 1s-9-.5-13 1zm0 8c4-1.5 9-2 13-1s9 .5 13-1v2.5c-4 1.5-9 2-13 1s-9-.5-13 1z"/>' +
      '<path fill="#d1c4e9" d="M3 10c4-1.5 9-2 13-1s9 .5 13-1v1.6c-4 1.5-9 2-13 1s-9-.5-13 1z"/>',
  },
  toothpaste: {
    keywords: ['toothpaste', 'toothpaste tube', 'tube'],
    body:
      '<path fill="#f7f7f7" d="M4 12.5h18.5l3 2.1v2.8l-3 2.1H4c-.8 0-1.5-.7-1.5-1.5v-4c0-.8.7-1.5 1.5-1.5z"/>' +
      '<path fill="#1e88e5" d="M4 12.5h5v7H4c-.8 0-1.5-.7-1.5-1.5v-4c0-.8.7-1.5 1.5-1.5z"/>' +
      '<rect x="11" y="14.6" width="9" height="2.8" rx=".6" fill="#e53935"/>' +
      '<rect x="25.5" y="13.8" width="4" height="4.4" rx=".8" fill="#1e88e5"/>',
  },
  nail: {
    keywords: ['nail', 'metal nail', 'iron nail'],
    body:
      '<rect x="10" y="3" width="12" height="3" rx="1.2" fill="#90a4ae"/>' +
      '<path fill="#b0bec5" d="M14.6 6h2.8v19.5L16 29.5l-1.4-4z"/>' +
      '<path fill="#78909c" d="M16 6h1.4v19.5L16 29.5z"/>',
  },
  submarine: {
    keywords: ['submarine', 'sub', 'u-boat'],
    body:
      '<rect x="14" y="8" width="6" height="7" rx="1.2" fill="#f4b400"/>' +
      '<rect x="16.2" y="4" width="1.4" height="4.5" fill="#8d949c"/>' +
      '<rect x="16.2" y="4" width="3.4" height="1.3" fill="#8d949c"/>' +
      '<path fill="#fdd835" d="M6.5 13.5h17c3.6 0 6.5 2.4 6.5 5.5s-2.9 5.5-6.5 5.5h-17C3.5 24.5 1 22 1 19s2.5-5.5 5.5-5.5z"/>' +
      '<path fill="#f4b400" d="M1.2 20.2h28.6c-.6 2.5-3.2 4.3-6.3 4.3h-17c-2.7 0-4.8-1.8-5.3-4.3z"/>' +
      '<circle cx="10" cy="18.4" r="1.7" fill="#4fc3f7"/>' +
      '<circle cx="16" cy="18.4" r="1.7" fill="#4fc3f7"/>' +
      '<circle cx="22" cy="18.4" r="1.7" fill="#4fc3f7"/>' +
      '<polygon points="0,15.5 3,19 0,22.5" fill="#8d949c"/>',
  },
  windmill: {
    keywords: ['windmill', 'wind mill'],
    body:
      '<polygon points="12,30 14,13 18,13 20,30" fill="#d7ccc8"/>' +
      '<polygon points="13.6,14 16,10 18.4,14" fill="#8d5b3a"/>' +
      '<rect x="14.6" y="24" width="2.8" height="6" rx=".6" fill="#6d4534"/>' +
      '<polygon points="16,13 6,3.5 4,5.5 14.4,14.6" fill="#fff8e1"/>' +
      '<polygon points="16,13 26,3.5 28,5.5 17.6,14.6" fill="#fff8e1"/>' +
      '<polygon points="16,13 6,22.5 8,24.5 17.6,14.6" fill="#fff8e1"/>' +
      '<polygon points="16,13 26,22.5 24,24.5 14.4,14.6" fill="#fff8e1"/>' +
      '<circle cx="16" cy="13" r="1.4" fill="#5c3a2e"/>',
  },
  sandcastle: {
    keywords: ['sandcastle', 'sand castle'],
    body:
      '<path fill="#e9c46a" d="M2 30c2-2.5 6-3.5 14-3.5s12 1 14 3.5z"/>' +
      '<rect x="6" y="14" width="20" height="13" fill="#f4d58d"/>' +
      '<rect x="4" y="9" width="7" height="18" fill="#efc977"/>' +
      '<rect x="21" y="9" width="7" height="18" fill="#efc977"/>' +
      '<path fill="#efc977" d="M4 7h1.8v2H7.5V7h1.8v2H11V7h0v2H4z"/>' +
      '<path fill="#efc977" d="M21 7h1.8v2h1.7V7h1.8v2H28V7h0v2h-7z"/>' +
      '<path fill="#c99a4a" d="M13.5 27v-5a2.5 2.5 0 0 1 5 0v5z"/>' +
      '<rect x="15.6" y="3" width=".8" height="11" fill="#8d5b3a"/>' +
      '<polygon points="16.4,3 21,4.8 16.4,6.6" fill="#e53935"/>',
  },
  pillow: {
    keywords: ['pillow', 'cushion'],
    body:
      '<path fill="#f1f4f8" d="M4 9c4 1.3 20 1.3 24 0 1.4 4.4 1.4 9.6 0 14-4-1.3-20-1.3-24 0-1.4-4.4-1.4-9.6 0-14z"/>' +
      '<path fill="#d5dde6" d="M4 23c4-1.3 20-1.3 24 0 .3-1 .5-2 .7-3-5 1.2-20.4 1.2-25.4 0 .2 1 .4 2 .7 3z"/>',
  },
  fridge: {
    keywords: ['fridge', 'refrigerator', 'freezer'],
    body:
      '<rect x="7" y="2" width="18" height="28" rx="2" fill="#e3edf3"/>' +
      '<rect x="7" y="11" width="18" height="1.2" fill="#aebfcc"/>' +
      '<rect x="21" y="5" width="1.6" height="4" rx=".8" fill="#8d9ba7"/>' +
      '<rect x="21" y="14" width="1.6" height="7" rx=".8" fill="#8d9ba7"/>' +
      '<rect x="8.5" y="29" width="3" height="1.5" fill="#8d9ba7"/>' +
      '<rect x="20.5" y="29" width="3" height="1.5" fill="#8d9ba7"/>',
  },
  swing: {
    keywords: ['swing', 'swing set', 'tire swing'],
    body:
      '<rect x="2" y="3" width="28" height="2.4" rx="1" fill="#8c5543"/>' +
      '<polygon points="3,5 5,5 3,30 1,30" fill="#a0673e"/>' +
      '<polygon points="27,5 29,5 31,30 29,30" fill="#a0673e"/>' +
      '<rect x="11" y="5" width=".8" height="15" fill="#6d6d6d"/>' +
      '<rect x="20.2" y="5" width=".8" height="15" fill="#6d6d6d"/>' +
      '<rect x="9.5" y="19.5" width="13" height="2.4" rx="1" fill="#e53935"/>',
  },
  sink: {
    keywords: ['sink', 'washbasin', 'basin'],
    body:
      '<rect x="14.6" y="4" width="2.8" height="7" rx="1" fill="#9aa5ae"/>' +
      '<path fill="#9aa5ae" d="M14.6 4h7.4a2 2 0 0 1 2 2v2h-2.8V6.8h-6.6z"/>' +
      '<path fill="#eef2f5" d="M3 12h26c0 6-4.5 10-13 10S3 18 3 12z"/>' +
      '<rect x="3" y="11" width="26" height="2.5" rx="1" fill="#cfd8dc"/>' +
      '<rect x="13.5" y="21" width="5" height="9" fill="#b0bec5"/>',
  },
  bench: {
    keywords: ['bench', 'park bench'],
    body:
      '<rect x="3" y="9" width="26" height="3" rx="1" fill="#b97a4d"/>' +
      '<rect x="3" y="13.5" width="26" height="3" rx="1" fill="#b97a4d"/>' +
      '<rect x="2" y="19" width="28" height="3.2" rx="1" fill="#a0673e"/>' +
      '<rect x="5" y="12" width="2" height="7" fill="#37474f"/>' +
      '<rect x="25" y="12" width="2" height="7" fill="#37474f"/>' +
      '<rect x="5" y="22" width="2.2" height="7" fill="#37474f"/>' +
      '<rect x="24.8" y="22" width="2.2" height="7" fill="#37474f"/>',
  },
};
