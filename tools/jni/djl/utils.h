// JNI helper header for building DJL 0.36.0's PyTorch JNI (libdjl_torch.so) from
// ../shared/third_party/djl-0.36.0, whose copy has only engines/pytorch and lacks DJL's
// api/src/main/native/djl/utils.h. This is this project's own implementation of the helper
// interface those sources call (djl::utils::jni::*); it is written against the call sites, not
// copied. Used only by tools/build-jni.sh.
#ifndef DJL_UTILS_H
#define DJL_UTILS_H

#include <jni.h>

#include <cstdint>
#include <string>
#include <vector>

namespace djl {
namespace utils {
namespace jni {

// Arrays are only read from Java, so release without copying back.
static constexpr const jint RELEASE_MODE = JNI_ABORT;
static constexpr const jlong NULL_PTR = 0;

inline std::string GetStringFromJString(JNIEnv* env, jstring jstr) {
  if (jstr == nullptr) {
    return std::string();
  }
  // GetStringUTFChars gives modified UTF-8 (NUL and supplementary characters differ from UTF-8), so
  // go through String.getBytes("UTF-8") for exact bytes.
  jclass string_class = env->GetObjectClass(jstr);
  jmethodID get_bytes = env->GetMethodID(string_class, "getBytes", "(Ljava/lang/String;)[B");
  jstring charset = env->NewStringUTF("UTF-8");
  auto bytes = static_cast<jbyteArray>(env->CallObjectMethod(jstr, get_bytes, charset));
  env->DeleteLocalRef(charset);
  env->DeleteLocalRef(string_class);
  if (bytes == nullptr) {
    return std::string();
  }
  jsize length = env->GetArrayLength(bytes);
  std::string out(static_cast<size_t>(length), '\0');
  if (length > 0) {
    env->GetByteArrayRegion(bytes, 0, length, reinterpret_cast<jbyte*>(&out[0]));
  }
  env->DeleteLocalRef(bytes);
  return out;
}

// Java long[] of native pointers -> copies of the pointed-to objects.
template <typename T>
inline std::vector<T> GetObjectVecFromJHandles(JNIEnv* env, jlongArray jhandles) {
  jsize length = env->GetArrayLength(jhandles);
  std::vector<jlong> handles(static_cast<size_t>(length));
  if (length > 0) {
    env->GetLongArrayRegion(jhandles, 0, length, handles.data());
  }
  std::vector<T> out;
  out.reserve(handles.size());
  for (jlong h : handles) {
    out.emplace_back(*reinterpret_cast<T*>(h));
  }
  return out;
}

// Container of T2-constructible elements -> Java long[] of heap pointers (owned by Java afterwards).
template <typename T1, typename T2>
inline jlongArray GetPtrArrayFromContainer(JNIEnv* env, T1 list) {
  size_t length = list.size();
  std::vector<jlong> ptrs(length);
  for (size_t i = 0; i < length; ++i) {
    ptrs[i] = static_cast<jlong>(reinterpret_cast<uintptr_t>(new T2(list[i])));
  }
  jlongArray out = env->NewLongArray(static_cast<jsize>(length));
  if (length > 0) {
    env->SetLongArrayRegion(out, 0, static_cast<jsize>(length), ptrs.data());
  }
  return out;
}

inline std::vector<int64_t> GetVecFromJLongArray(JNIEnv* env, jlongArray jarray) {
  jsize length = env->GetArrayLength(jarray);
  std::vector<jlong> tmp(static_cast<size_t>(length));
  if (length > 0) {
    env->GetLongArrayRegion(jarray, 0, length, tmp.data());
  }
  return std::vector<int64_t>(tmp.begin(), tmp.end());
}

inline std::vector<int32_t> GetVecFromJIntArray(JNIEnv* env, jintArray jarray) {
  jsize length = env->GetArrayLength(jarray);
  std::vector<jint> tmp(static_cast<size_t>(length));
  if (length > 0) {
    env->GetIntArrayRegion(jarray, 0, length, tmp.data());
  }
  return std::vector<int32_t>(tmp.begin(), tmp.end());
}

inline std::vector<float> GetVecFromJFloatArray(JNIEnv* env, jfloatArray jarray) {
  jsize length = env->GetArrayLength(jarray);
  std::vector<float> out(static_cast<size_t>(length));
  if (length > 0) {
    env->GetFloatArrayRegion(jarray, 0, length, out.data());
  }
  return out;
}

inline std::vector<std::string> GetVecFromJStringArray(JNIEnv* env, jobjectArray array) {
  jsize length = env->GetArrayLength(array);
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(length));
  for (jsize i = 0; i < length; ++i) {
    auto s = static_cast<jstring>(env->GetObjectArrayElement(array, i));
    out.emplace_back(GetStringFromJString(env, s));
    env->DeleteLocalRef(s);
  }
  return out;
}

inline jobjectArray GetStringArrayFromVec(JNIEnv* env, const std::vector<std::string>& vec) {
  jclass string_class = env->FindClass("java/lang/String");
  jmethodID ctor = env->GetMethodID(string_class, "<init>", "([BLjava/lang/String;)V");
  jstring charset = env->NewStringUTF("UTF-8");
  jobjectArray out = env->NewObjectArray(static_cast<jsize>(vec.size()), string_class, nullptr);
  for (size_t i = 0; i < vec.size(); ++i) {
    auto length = static_cast<jsize>(vec[i].size());
    jbyteArray bytes = env->NewByteArray(length);
    env->SetByteArrayRegion(bytes, 0, length, reinterpret_cast<const jbyte*>(vec[i].data()));
    jobject s = env->NewObject(string_class, ctor, bytes, charset);
    env->SetObjectArrayElement(out, static_cast<jsize>(i), s);
    env->DeleteLocalRef(bytes);
    env->DeleteLocalRef(s);
  }
  env->DeleteLocalRef(charset);
  env->DeleteLocalRef(string_class);
  return out;
}

inline jintArray GetIntArrayFromVec(JNIEnv* env, const std::vector<int>& vec) {
  jintArray out = env->NewIntArray(static_cast<jsize>(vec.size()));
  std::vector<jint> tmp(vec.begin(), vec.end());
  if (!tmp.empty()) {
    env->SetIntArrayRegion(out, 0, static_cast<jsize>(tmp.size()), tmp.data());
  }
  return out;
}

inline jlongArray GetLongArrayFromVec(JNIEnv* env, const std::vector<size_t>& vec) {
  jlongArray out = env->NewLongArray(static_cast<jsize>(vec.size()));
  std::vector<jlong> tmp(vec.begin(), vec.end());
  if (!tmp.empty()) {
    env->SetLongArrayRegion(out, 0, static_cast<jsize>(tmp.size()), tmp.data());
  }
  return out;
}

}  // namespace jni
}  // namespace utils
}  // namespace djl

#endif  // DJL_UTILS_H
