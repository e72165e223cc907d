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
    keywords: ['table', 'desk', 'dining table', 'bench'],
    body:
      '<path fill="#8c5543" d="M5 17h2.5v13H5zm19.5 0H27v13h-2.5z"/>' +
      '<path fill="#6d4534" d="M7.5 17H10v10H7.5zm14.5 0h2.5v10H22z"/>' +
      '<rect x="2" y="13" width="28" height="4" rx="1" fill="#b97a4d"/>' +
      '<path fill="#a0673e" d="M3 17h26v1.5H3z"/>',
  },
};
