/*
 * bcryptprimitives.dll for running the Windows build of Deno under Wine 8 (the Windows test lane, scripts/test_windows).
 * Placed next to deno.exe, it is loaded instead of Wine's (which lacks the function below) and does two things:
 *
 *  1. Exports ProcessPrng, which deno.exe imports from bcryptprimitives.dll and Wine 8 does not provide. It fills the
 *     buffer from RtlGenRandom (advapi32!SystemFunction036), in chunks that fit its ULONG length.
 *  2. Under Wine only (ntdll exports wine_get_version), patches deno.exe's import of kernel32!GetProcAddress so that
 *     looking up "VirtualAlloc2" answers NULL / ERROR_PROC_NOT_FOUND. V8 then reserves memory the pre-VirtualAlloc2
 *     way; with VirtualAlloc2 it asks for MEM_RESERVE_PLACEHOLDER, which Wine 8 rejects, and aborts at start-up.
 *
 * Test tooling only: never shipped, never needed on Windows itself (where this DLL does nothing but step 1, which
 * Windows' own bcryptprimitives.dll does anyway). Build: see scripts/windows/README.md.
 */
#include <windows.h>
#include <string.h>

BOOLEAN NTAPI SystemFunction036(PVOID buffer, ULONG length); /* RtlGenRandom */

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}

typedef FARPROC(WINAPI *get_proc_address_fn)(HMODULE, LPCSTR);
static get_proc_address_fn original_get_proc_address;

static FARPROC WINAPI get_proc_address_without_virtualalloc2(HMODULE module, LPCSTR name) {
    /* A name below 0x10000 is an ordinal, not a string. */
    if ((ULONG_PTR)name > 0xffff && strcmp(name, "VirtualAlloc2") == 0) {
        SetLastError(ERROR_PROC_NOT_FOUND);
        return NULL;
    }
    return original_get_proc_address(module, name);
}

/* Rewrites every GetProcAddress slot in the executable's import address table. */
static void patch_executable_imports(void) {
    BYTE *base = (BYTE *)GetModuleHandleW(NULL);
    IMAGE_DOS_HEADER *dos = (IMAGE_DOS_HEADER *)base;
    IMAGE_NT_HEADERS *nt = (IMAGE_NT_HEADERS *)(base + dos->e_lfanew);
    IMAGE_DATA_DIRECTORY imports = nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_IMPORT];
    if (imports.VirtualAddress == 0) return;
    original_get_proc_address =
        (get_proc_address_fn)GetProcAddress(GetModuleHandleW(L"kernel32.dll"), "GetProcAddress");
    if (original_get_proc_address == NULL) return;
    for (IMAGE_IMPORT_DESCRIPTOR *dll = (IMAGE_IMPORT_DESCRIPTOR *)(base + imports.VirtualAddress); dll->Name; dll++) {
        DWORD names_rva = dll->OriginalFirstThunk ? dll->OriginalFirstThunk : dll->FirstThunk;
        IMAGE_THUNK_DATA *name = (IMAGE_THUNK_DATA *)(base + names_rva);
        IMAGE_THUNK_DATA *slot = (IMAGE_THUNK_DATA *)(base + dll->FirstThunk);
        for (; name->u1.AddressOfData; name++, slot++) {
            if (IMAGE_SNAP_BY_ORDINAL(name->u1.Ordinal)) continue;
            IMAGE_IMPORT_BY_NAME *by_name = (IMAGE_IMPORT_BY_NAME *)(base + name->u1.AddressOfData);
            if (strcmp((const char *)by_name->Name, "GetProcAddress") != 0) continue;
            DWORD protection;
            if (!VirtualProtect(&slot->u1.Function, sizeof slot->u1.Function, PAGE_READWRITE, &protection)) continue;
            slot->u1.Function = (ULONG_PTR)get_proc_address_without_virtualalloc2;
            VirtualProtect(&slot->u1.Function, sizeof slot->u1.Function, protection, &protection);
        }
    }
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved) {
    (void)reserved;
    if (reason == DLL_PROCESS_ATTACH) {
        DisableThreadLibraryCalls(instance);
        if (GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "wine_get_version") != NULL) patch_executable_imports();
    }
    return TRUE;
}
